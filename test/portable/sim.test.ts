// Deno: a simulated device round trip (worker thread + UNIX socket through node: built-ins) with equal digests.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { MigrationDevice } from '../../src/device/migration-device.ts';
import { openDevice } from '../../src/device/open-device.ts';
import { defaultSocketPlace, findSocketPlace, type SocketPlace } from '../../src/device/sim/data-socket-place.ts';
import { SimBackend } from '../../src/device/sim/sim-backend.ts';
import { parseSimSpec } from '../../src/device/sim/sim-spec.ts';
import { READ_DRAINED, READ_END } from '../../src/device/types.ts';

declare const Deno: {
  test(name: string, fn: () => void | Promise<void>): void;
  test(def: { name: string; ignore?: boolean; fn: () => void | Promise<void> }): void;
};

async function stopCopyRoundTrip(src: MigrationDevice, dst: MigrationDevice): Promise<void> {
  await src.setState('STOP_COPY');
  await dst.setState('RESUMING');
  const buf = new Uint8Array(65536);
  for (let n = await src.savingSession!.read(buf); n !== READ_END; n = await src.savingSession!.read(buf)) {
    assert.notEqual(n, READ_DRAINED);
    await dst.resumingSession!.write(buf.subarray(0, n));
  }
  await src.setState('STOP');
  await dst.setState('STOP');
  assert.equal(await dst.stateDigest(), await src.stateDigest());
}

async function openWith(spec: string, socketPlace: SocketPlace): Promise<MigrationDevice> {
  return MigrationDevice.open(await SimBackend.open(parseSimSpec(spec), { socketPlace }));
}

Deno.test({
  name: "Linux: Deno's node:net binds the data socket in the abstract namespace (no file)",
  ignore: process.platform !== 'linux',
  fn: async () => {
    assert.deepEqual(await defaultSocketPlace(), { kind: 'abstract' });
    const src = await openDevice('sim:minimal,size=64k,seed=2');
    const dst = await openDevice('sim:minimal,size=64k,seed=3');
    try {
      const path = (src.backend as SimBackend).dataSocketPath ?? '';
      assert.equal(path[0], '\0');
      await stopCopyRoundTrip(src, dst);
    } finally {
      await src.close();
      await dst.close();
    }
  },
});

Deno.test('forced fallback: a socket file in a private directory on the first place that can hold one', async () => {
  // The test VM's /tmp is a 9p share, which cannot hold sockets; its /dev/shm is a tmpfs.
  const base = process.env.VFIO_MIGRATE_IN_VM === '1' ? '/dev/shm' : tmpdir();
  const scratch = mkdtempSync(join(base, 'vfm-deno-sock-'));
  try {
    const place = await findSocketPlace({ abstract: false, dirs: [join(scratch, 'missing'), scratch] });
    assert.deepEqual(place, { kind: 'directory', dir: scratch });
    const src = await openWith('minimal,size=64k,seed=2', place);
    const dst = await openWith('minimal,size=64k,seed=3', place);
    try {
      const path = (src.backend as SimBackend).dataSocketPath ?? '';
      assert.ok(path.startsWith(join(scratch, 'vfm-sim-')));
      assert.ok(statSync(path).isSocket());
      assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
      await stopCopyRoundTrip(src, dst);
    } finally {
      await src.close();
      await dst.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

Deno.test('sim:nic saves on one simulated device and resumes on another with equal digests', async () => {
  const src = await openDevice('sim:nic,size=2m,seed=5,dirty=0');
  const dst = await openDevice('sim:nic,size=2m,seed=6,dirty=0');
  try {
    assert.notEqual(await src.stateDigest(), await dst.stateDigest());
    await src.setState('STOP_COPY');
    await dst.setState('RESUMING');
    const buf = new Uint8Array(100_000);
    let bytes = 0;
    for (;;) {
      const n = await src.savingSession!.read(buf);
      assert.notEqual(n, READ_DRAINED);
      if (n === READ_END) break;
      await dst.resumingSession!.write(buf.subarray(0, n));
      bytes += n;
    }
    assert.ok(bytes > 2 * 1024 * 1024);
    await src.setState('STOP');
    await dst.setState('STOP');
    assert.equal(await dst.stateDigest(), await src.stateDigest());
    await dst.setState('RUNNING');
  } finally {
    await src.close();
    await dst.close();
  }
});

Deno.test('a corrupted stream is refused and leaves the destination in ERROR', async () => {
  const src = await openDevice('sim:minimal,size=64k,corrupt-at=9000');
  const dst = await openDevice('sim:minimal,size=64k');
  try {
    await src.setState('STOP_COPY');
    await dst.setState('RESUMING');
    const buf = new Uint8Array(65536);
    for (let n = await src.savingSession!.read(buf); n !== READ_END; n = await src.savingSession!.read(buf)) {
      await dst.resumingSession!.write(buf.subarray(0, n));
    }
    await assert.rejects(dst.setState('STOP'), (err: Error & { state?: string; cause?: { reason?: string } }) => {
      assert.equal(err.state, 'ERROR');
      assert.equal(err.cause?.reason, 'corrupt');
      return true;
    });
  } finally {
    await src.close();
    await dst.close();
  }
});
