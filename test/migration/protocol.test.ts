// Peers that are not what they should be: another protocol version, a peer that is no migration peer at all, a
// silent one. Each gets a clear typed error, nothing waits forever, and no device changes state.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DeviceSet } from '../../src/device/device-set.ts';
import { MigrationDestination, MigrationSource } from '../../src/migration/index.ts';
import { CONTROL_PREAMBLE, encodeFrame, FrameReader } from '../../src/migration/wire.ts';

async function destination(spec = 'sim:nic,size=4m', idleMs = 3000) {
  const set = await DeviceSet.open([spec], { role: 'destination' });
  let bound!: (a: string) => void;
  const address = new Promise<string>((r) => (bound = r));
  const refused: string[] = [];
  const dst = new MigrationDestination(set, 'tcp://127.0.0.1:0', {
    idleMs,
    acceptTimeoutMs: 10_000,
    link: { onListening: bound, onRefused: (_p, reason) => refused.push(reason) },
  });
  const result = dst.start();
  result.catch(() => {});
  return { set, result, port: Number(new URL(await address).port), address: await address, refused };
}

/** A raw client that speaks the control protocol by hand. */
async function rawControl(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(CONTROL_PREAMBLE);
  const reader = new FrameReader('test');
  const messages: unknown[] = [];
  socket.on('data', (d) => messages.push(...reader.push(d)));
  return { socket, messages };
}

describe('the destination facing a peer', () => {
  it('refuses a source of another protocol version, telling it why; no device is touched', async () => {
    const d = await destination();
    try {
      const peer = await rawControl(d.port);
      peer.socket.write(
        encodeFrame({
          type: 'hello',
          protocol: 'vfio-migrate/migration',
          version: 99,
          migrationId: '00'.repeat(16),
          devices: [],
          stream: { codec: 'lz4', level: undefined, chunking: 'fixed', chunkSize: undefined },
          precopy: true,
        }),
      );
      await expect(d.result).rejects.toMatchObject({ code: 'VFM_PROTOCOL_VERSION', theirs: 99 });
      await new Promise((r) => setTimeout(r, 50));
      expect(peer.messages).toContainEqual(expect.objectContaining({ type: 'refused', code: 'VFM_PROTOCOL_VERSION' }));
      expect(d.set.states).toEqual(['RUNNING']);
      peer.socket.destroy();
    } finally {
      await d.set.close();
    }
  });

  it('turns away connections that are not migration peers and keeps listening for the right one', async () => {
    const d = await destination();
    try {
      const http = net.connect(d.port, '127.0.0.1', () => http.write('GET / HTTP/1.1\r\n\r\n'));
      http.on('error', () => {});
      await new Promise((r) => setTimeout(r, 200));
      const src = await DeviceSet.open(['sim:nic,size=4m'], { role: 'source' });
      try {
        const r = await new MigrationSource(src, d.address, {}).start();
        expect((await d.result).devices[0]!.digest).toBe(r.devices[0]!.digest);
        expect(d.refused.join('\n')).toMatch(/not a vfio-migrate migration peer \(it starts with "GET \/ HT"\)/);
      } finally {
        await src.close();
        http.destroy();
      }
    } finally {
      await d.set.close();
    }
  });

  it('gives up on a source that connects and says nothing (no hello within the idle limit)', async () => {
    const d = await destination('sim:nic,size=4m', 500);
    try {
      const peer = await rawControl(d.port);
      await expect(d.result).rejects.toMatchObject({ code: 'VFM_PEER_STALLED' });
      expect(d.set.states).toEqual(['RUNNING']);
      peer.socket.destroy();
    } finally {
      await d.set.close();
    }
  });
});

describe('the source facing a peer', () => {
  async function fakeListener(onControl: (socket: net.Socket) => void) {
    const server = net.createServer((socket) => {
      // the migration side may reset or keep writing after the fake peer ended: neither is this test's subject
      socket.on('error', () => {});
      onControl(socket);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { server, address: `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
  }

  async function sourceTo(address: string) {
    const set = await DeviceSet.open(['sim:nic,size=4m'], { role: 'source' });
    const err = await new MigrationSource(set, address, { idleMs: 1000 }).start().catch((e) => e);
    const states = set.states;
    await set.close();
    return { err, states };
  }

  it('refuses a destination that answers in another protocol version', async () => {
    const fake = await fakeListener((s) => {
      s.on('data', () => {
        s.write(encodeFrame({ type: 'welcome', version: 7, devices: [] }));
      });
    });
    try {
      const { err, states } = await sourceTo(fake.address);
      expect(err).toMatchObject({ code: 'VFM_PROTOCOL_VERSION', theirs: 7 });
      expect(states).toEqual(['RUNNING']);
    } finally {
      fake.server.close();
    }
  });

  it('says plainly when the listener is not a migration peer (it answers with something else)', async () => {
    const fake = await fakeListener((s) => {
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    try {
      const { err, states } = await sourceTo(fake.address);
      expect(err.code).toMatch(/VFM_PROTOCOL|VFM_CONNECTION_LOST/);
      expect(states).toEqual(['RUNNING']);
    } finally {
      fake.server.close();
    }
  });

  it('does not wait forever on a destination that accepts and says nothing', async () => {
    const fake = await fakeListener(() => {});
    try {
      const t0 = Date.now();
      const { err, states } = await sourceTo(fake.address);
      expect(err).toMatchObject({ code: 'VFM_PEER_STALLED' });
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(states).toEqual(['RUNNING']);
    } finally {
      fake.server.close();
    }
  });
});
