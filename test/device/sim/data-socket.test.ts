import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MigrationDevice } from '../../../src/device/migration-device.ts';
import {
  admitHost,
  newSessionKeys,
  proveToDevice,
  SESSION_KEY_BYTES,
} from '../../../src/device/sim/data-session-handshake.ts';
import { defaultSocketPlace, findSocketPlace, type SocketPlace } from '../../../src/device/sim/data-socket-place.ts';
import { fullStreamSize } from '../../../src/device/sim/device-stream-format.ts';
import { SimBackend } from '../../../src/device/sim/sim-backend.ts';
import type {
  SimEvent,
  SimReply,
  SimRequest,
  SimSessionOpened,
  SimWorkerData,
} from '../../../src/device/sim/sim-protocol.ts';
import { parseSimSpec } from '../../../src/device/sim/sim-spec.ts';
import { ListenFailedError } from '../../../src/errors.ts';
import { DeviceState } from '../../../src/fsm/index.ts';
import { RingSocket } from '../../../src/transport/ring-socket.ts';
import { pump, stopCopyMigrate } from './transfer.ts';

const opened: MigrationDevice[] = [];
async function open(spec: string, socketPlace?: SocketPlace): Promise<MigrationDevice> {
  const d = await MigrationDevice.open(await SimBackend.open(parseSimSpec(spec.replace(/^sim:/, '')), { socketPlace }));
  opened.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});
const sim = (d: MigrationDevice) => d.backend as SimBackend;

// The test VM's /tmp is a 9p share, which cannot hold sockets; its /dev/shm is a tmpfs.
const scratchBase = process.env.VFIO_MIGRATE_IN_VM === '1' ? '/dev/shm' : tmpdir();
const scratch = mkdtempSync(join(scratchBase, 'vfm-sock-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Abstract names as /proc/net/unix lists them ('@' for the leading NUL). */
function abstractNamesListed(): string[] {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[7] ?? '')
    .filter((n) => n.startsWith('@'));
}

function listenOn(path: string, onSocket: (s: Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onSocket);
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

function connectTo(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    s.once('error', reject);
    s.once('connect', () => resolve(s));
  });
}

function hostTo(path: string): Promise<RingSocket> {
  return RingSocket.connect(path, 256 * 1024);
}

/** Everything a host socket still gets until the peer closes the connection. */
async function drainHost(host: RingSocket): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = host.take(buf);
    if (n > 0) parts.push(buf.slice(0, n));
    else if (host.drainedEnd || host.error) return Buffer.concat(parts);
    else
      await new Promise<void>((resolve) => {
        const off = host.onChange(() => {
          off();
          resolve();
        });
      });
  }
}

/** Everything the peer sends until it closes the connection. */
function drain(s: Socket): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    s.on('data', (d: Uint8Array) => {
      n += d.length;
    });
    s.on('error', () => {});
    s.on('close', () => resolve(n));
  });
}

describe('where the data socket listens', () => {
  it.runIf(process.platform === 'linux')(
    'Linux: an abstract name (no file), listed while the device lives, gone once it is closed',
    async () => {
      expect(await defaultSocketPlace()).toEqual({ kind: 'abstract' });
      const src = await open('sim:nic,size=1m,seed=3,dirty=0');
      const dst = await open('sim:nic,size=1m,seed=4,dirty=0');
      const path = sim(src).dataSocketPath ?? '';
      expect(path.startsWith('\0')).toBe(true);
      // 128 random bits: nobody guesses the name (and the handshake guards it anyway: it is listed for all).
      expect(path).toMatch(/\/[0-9a-f]{32}$/);
      expect(sim(dst).dataSocketPath).not.toBe(path);
      expect(abstractNamesListed()).toContain(`@${path.slice(1)}`);
      await stopCopyMigrate(src, dst);
      await dst.setState('STOP');
      expect(await dst.stateDigest()).toBe(await src.stateDigest());
      await src.close();
      expect(abstractNamesListed()).not.toContain(`@${path.slice(1)}`);
    },
  );

  it('forced fallback: places that cannot hold a socket are skipped; the file lives in a private 0700 directory', async () => {
    const notADir = join(scratch, 'plain-file');
    writeFileSync(notADir, '');
    // A socket path longer than sun_path (108 bytes) cannot be bound, like a 9p /tmp cannot.
    const tooLong = join(scratch, 'x'.repeat(120));
    const place = await findSocketPlace({
      abstract: false,
      dirs: [join(scratch, 'missing'), notADir, tooLong, scratch],
    });
    expect(place).toEqual({ kind: 'directory', dir: scratch });

    const src = await open('sim:minimal,size=64k,seed=11', place);
    const dst = await open('sim:minimal,size=64k,seed=12', place);
    const path = sim(src).dataSocketPath ?? '';
    expect(path.startsWith(`${scratch}/vfm-sim-`)).toBe(true);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    await stopCopyMigrate(src, dst);
    await dst.setState('STOP');
    expect(await dst.stateDigest()).toBe(await src.stateDigest());
    await src.close();
    expect(() => statSync(join(path, '..'))).toThrow(/ENOENT/);

    // A device whose thread died is restarted by reset and listens again at its path (the dead one's file goes).
    const dying = await open('sim:minimal,size=64k,die-at=5000', place);
    const dyingPath = sim(dying).dataSocketPath;
    await dying.setState('STOP_COPY');
    expect(await pump(dying, null)).toBe(5000);
    await expect(dying.setState('STOP')).rejects.toMatchObject({ code: 'VFM_ARC_FAILED', state: 'ERROR' });
    await dying.reset();
    expect(sim(dying).dataSocketPath).toBe(dyingPath);
    await dying.setState('STOP_COPY');
    expect(await pump(dying, null)).toBe(5000);
  });

  // Run by hand with ../shared/vm/run-in-vm, where /tmp is a 9p share (binding a socket there fails with ENXIO).
  it.runIf(process.env.VFIO_MIGRATE_IN_VM === '1')(
    'in the test VM: the 9p /tmp is skipped for a tmpfs, and devices migrate with their socket there',
    async () => {
      const place = await findSocketPlace({ abstract: false, dirs: [tmpdir(), '/dev/shm'] });
      expect(place).toEqual({ kind: 'directory', dir: '/dev/shm' });
      await expect(findSocketPlace({ abstract: false, dirs: [tmpdir()] })).rejects.toThrow(/ENXIO/);
      const src = await open('sim:minimal,size=64k,seed=11', place);
      const dst = await open('sim:minimal,size=64k,seed=12', place);
      await stopCopyMigrate(src, dst);
      await dst.setState('STOP');
      expect(await dst.stateDigest()).toBe(await src.stateDigest());
    },
  );

  it('no usable place at all: ListenFailedError names every candidate and why it failed', async () => {
    const err = await findSocketPlace({
      abstract: false,
      dirs: [join(scratch, 'missing-1'), join(scratch, 'm2')],
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ListenFailedError);
    expect((err as ListenFailedError).code).toBe('VFM_LISTEN_FAILED');
    expect((err as Error).message).toContain('missing-1: ENOENT');
    expect((err as Error).message).toContain('m2: ENOENT');
  });
});

describe('the data session handshake', () => {
  it('a connection without the session key gets no data and cannot take the session from the host', async () => {
    const src = await open('sim:minimal,size=64k,seed=5');
    const dst = await open('sim:minimal,size=64k,seed=6');
    const path = sim(src).dataSocketPath ?? '';
    // One intruder is already connected when the session opens; one shows up while it runs.
    const early = await connectTo(path);
    const earlyGot = drain(early);
    await src.setState('STOP_COPY');
    early.write(randomBytes(SESSION_KEY_BYTES));
    const late = await connectTo(path);
    const lateGot = drain(late);
    late.write(randomBytes(SESSION_KEY_BYTES));
    expect(await earlyGot).toBe(0);
    expect(await lateGot).toBe(0);
    await dst.setState('RESUMING');
    await pump(src, dst);
    await src.setState('STOP');
    await dst.setState('STOP');
    expect(await dst.stateDigest()).toBe(await src.stateDigest());
  });

  it('the device hands a session only to the connection with its key, once, whoever connects first', async () => {
    const config = parseSimSpec('minimal,size=64k');
    const path = join(scratch, 'device.sock');
    const worker = new Worker(new URL('../../../src/device/sim/sim-worker.ts', import.meta.url), {
      workerData: { config, socketPath: path } satisfies SimWorkerData,
    });
    try {
      const replies = new Map<number, (m: SimReply) => void>();
      await new Promise<void>((resolve) =>
        worker.on('message', (m: SimReply | SimEvent) => {
          if ('ev' in m) {
            if (m.ev === 'ready') resolve();
          } else replies.get(m.id)?.(m);
        }),
      );
      let ids = 0;
      const call = (req: SimRequest) =>
        new Promise<unknown>((resolve, reject) => {
          const id = ++ids;
          replies.set(id, (m) => (m.ok ? resolve(m.value) : reject(new Error(m.error.message))));
          worker.postMessage({ id, req });
        });
      await call({ op: 'arc', from: DeviceState.RUNNING, to: DeviceState.STOP, written: 0 });
      const opened = (await call({
        op: 'arc',
        from: DeviceState.STOP,
        to: DeviceState.STOP_COPY,
        written: 0,
      })) as SimSessionOpened;
      if (opened.session !== 'saving') throw new Error('expected a saving session');
      // Two strangers are first in line: one guesses a key, one holds back the last byte of the real key.
      const guesser = await connectTo(path);
      const guesserGot = drain(guesser);
      guesser.write(randomBytes(SESSION_KEY_BYTES));
      const replayer = await connectTo(path);
      const replayerGot = drain(replayer);
      replayer.write(opened.keys.host.subarray(0, SESSION_KEY_BYTES - 1));
      expect(await guesserGot).toBe(0);

      const host = await hostTo(path);
      await proveToDevice(host, opened.keys);
      const hostGot = drainHost(host).then((b) => b.length);
      // The key has been used: presenting it again gets nothing.
      replayer.write(opened.keys.host.subarray(SESSION_KEY_BYTES - 1));
      expect(await replayerGot).toBe(0);
      expect(await hostGot).toBe(fullStreamSize(config.pageCount));
    } finally {
      await worker.terminate();
    }
  });

  it('the device closes a connection that presents no key in time', async () => {
    const path = join(scratch, 'silent.sock');
    let admitted: Promise<unknown> = Promise.resolve();
    const server = await listenOn(path, (s) => {
      admitted = admitHost(s, () => ({ keys: newSessionKeys(), attach: () => {} }), 50);
    });
    try {
      const c = await connectTo(path);
      const got = drain(c);
      expect(await got).toBe(0);
      expect(await admitted).toBeNull();
    } finally {
      server.close();
    }
  });

  it('the host refuses a peer that does not answer with the device key, and keeps what follows a good answer', async () => {
    const keys = newSessionKeys();
    const path = join(scratch, 'peer.sock');
    let answer: Uint8Array = randomBytes(SESSION_KEY_BYTES);
    const server = await listenOn(path, (s) => {
      s.once('data', () => s.end(Buffer.concat([answer, Buffer.from('payload')])));
      s.on('error', () => {});
    });
    try {
      const impostor = await hostTo(path);
      await expect(proveToDevice(impostor, keys)).rejects.toThrow(/not the device/);
      impostor.destroy();

      answer = keys.device;
      const genuine = await hostTo(path);
      await proveToDevice(genuine, keys);
      expect(Buffer.from(await drainHost(genuine)).toString()).toBe('payload');
    } finally {
      server.close();
    }
  });
});
