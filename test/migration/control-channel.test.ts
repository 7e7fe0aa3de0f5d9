// The migration's control connection: pings answered by the peer's channel on its own, and a ping on a connection
// that breaks under it fails with the loss and nothing else: no rejection left unhandled, which would end the
// process (Node) or the test run (Deno) on either end of a migration whose peer vanished.
import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlChannel } from '../../src/migration/control-channel.ts';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterEach(() => {
  unhandled.length = 0;
});

/** A socket whose writes fail as a write to a vanished peer does (EPIPE), after the bytes were accepted. */
function brokenSocket(): net.Socket {
  const d = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      setImmediate(() => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
    },
  });
  return Object.assign(d, { bytesRead: 0 }) as unknown as net.Socket;
}

async function connectedPair(): Promise<{ a: ControlChannel; b: ControlChannel; close(): void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const a = new ControlChannel(client, 'b');
  const b = new ControlChannel(await accepted, 'a');
  return {
    a,
    b,
    close() {
      client.destroy();
      server.close();
    },
  };
}

describe('control channel pings', () => {
  it('the peer answers on its own: pings resolve with a round-trip time, one after another', async () => {
    const pair = await connectedPair();
    try {
      for (let i = 0; i < 20; i++) expect(await pair.a.ping(2_000)).toBeGreaterThanOrEqual(0);
      expect(await pair.b.ping(2_000)).toBeGreaterThanOrEqual(0);
    } finally {
      pair.close();
    }
  });

  it('a ping whose write fails rejects with the connection lost, and leaves no unhandled rejection', async () => {
    const channel = new ControlChannel(brokenSocket(), 'vanished peer');
    await expect(channel.ping(5_000)).rejects.toMatchObject({ code: 'VFM_CONNECTION_LOST' });
    // the loss also fails the channel: later waits end at once with the same error
    await expect(channel.ping(5_000)).rejects.toMatchObject({ code: 'VFM_CONNECTION_LOST' });
    await new Promise((r) => setTimeout(r, 20));
    expect(unhandled).toEqual([]);
  });

  it('a ping aborted by its caller rejects as aborted', async () => {
    const pair = await connectedPair();
    try {
      const ac = new AbortController();
      ac.abort();
      await expect(pair.a.ping(2_000, ac.signal)).rejects.toMatchObject({ code: 'VFM_ABORTED' });
    } finally {
      pair.close();
    }
  });
});
