// The device's end of a data connection, both ways it can read: the accepted socket's handle moved into a socket with
// an `onread` buffer (the kernel reads into the reader's memory), and data events copied in (runtimes without that
// handle). Each must deliver the same bytes, stop for good when its reader says so, and hand the bytes after the
// session key to the session.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { admitHost, newSessionKeys, SESSION_KEY_BYTES } from '../../../src/device/sim/data-session-handshake.ts';
import {
  type AcceptOptions,
  type ConnectionReader,
  DeviceDataConnection,
} from '../../../src/device/sim/device-data-connection.ts';

const scratchBase = process.env.VFIO_MIGRATE_IN_VM === '1' ? '/dev/shm' : tmpdir();
const scratch = mkdtempSync(join(scratchBase, 'vfm-conn-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let sockets = 0;

/** A server on a fresh socket file whose connections go to `onSocket`, and a client connected to it. */
async function pair(onSocket: (s: Socket) => void): Promise<{ client: Socket; server: net.Server }> {
  const path = join(scratch, `c${sockets++}.sock`);
  const server = net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = await new Promise<Socket>((resolve, reject) => {
    const s = net.createConnection({ path });
    s.once('error', reject);
    s.once('connect', () => resolve(s));
  });
  return { client, server };
}

/** Takes reads into a buffer of its own, offering spaces of varying sizes; stops after `stopAfter` bytes. */
class Collector implements ConnectionReader {
  readonly #buf: Uint8Array;
  #have = 0;
  #offers = 0;
  #stopAfter: number;
  constructor(capacity: number, stopAfter = Number.POSITIVE_INFINITY) {
    // room past the expected bytes: a space offered must never be empty
    this.#buf = new Uint8Array(capacity + 65536);
    this.#stopAfter = stopAfter;
  }
  space(): Uint8Array {
    // 1 byte, 7 bytes, ... up to 64 KiB: reads cut anywhere
    const size = [1, 7, 4096, 65536, 100][this.#offers++ % 5]!;
    return this.#buf.subarray(this.#have, Math.min(this.#buf.length, this.#have + size));
  }
  took(n: number): boolean {
    this.#have += n;
    return this.#have < this.#stopAfter;
  }
  get bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#have);
  }
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

const ways: [string, AcceptOptions][] = [
  ['the moved handle', {}],
  ['data events', { events: true }],
];

describe.each(ways)('a device data connection read through %s', (_, opts) => {
  it('delivers every byte, in order, into the memory the reader offers', async () => {
    const data = new Uint8Array(randomBytes(3 << 20));
    const reader = new Collector(data.length);
    const { client, server } = await pair((s) => DeviceDataConnection.accept(s, reader, opts));
    try {
      client.end(data);
      await until(() => reader.bytes.length === data.length);
      expect(Buffer.compare(reader.bytes, data)).toBe(0);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('a reader that says stop gets nothing more, and the writer is left with a full socket', async () => {
    const reader = new Collector(16 << 20, 100_000);
    const { client, server } = await pair((s) => DeviceDataConnection.accept(s, reader, opts));
    try {
      client.write(new Uint8Array(16 << 20));
      await until(() => reader.bytes.length >= 100_000);
      await new Promise((r) => setTimeout(r, 100));
      // the read that crossed the limit is the last one taken
      expect(reader.bytes.length).toBeGreaterThanOrEqual(100_000);
      expect(reader.bytes.length).toBeLessThan(100_000 + 65536);
      expect(client.writableLength).toBeGreaterThan(0);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('admitHost hands the bytes after the key, sent in the same write, to the session', async () => {
    const keys = newSessionKeys();
    const reader = new Collector(1 << 16);
    let admitted: Promise<unknown> = Promise.resolve();
    const { client, server } = await pair((s) => {
      admitted = admitHost(
        s,
        (key) => (Buffer.compare(key, keys.host) === 0 ? { keys, attach: (c) => c.readWith(reader) } : null),
        5000,
        opts,
      );
    });
    try {
      const answer = new Promise<Uint8Array>((resolve) => client.once('data', (d: Uint8Array) => resolve(d)));
      client.write(Buffer.concat([keys.host, Buffer.from('the device state follows')]));
      expect(Buffer.compare(await answer, keys.device)).toBe(0);
      expect(await admitted).toMatchObject({ keys });
      await until(() => reader.bytes.length === 24);
      expect(Buffer.from(reader.bytes).toString()).toBe('the device state follows');
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('admitHost closes a connection whose key opens no session', async () => {
    let admitted: Promise<unknown> = Promise.resolve();
    const { client, server } = await pair((s) => {
      admitted = admitHost(s, () => null, 5000, opts);
    });
    try {
      const closed = new Promise((resolve) => client.once('close', resolve));
      client.on('error', () => {});
      client.write(new Uint8Array(SESSION_KEY_BYTES));
      await closed;
      expect(await admitted).toBeNull();
    } finally {
      server.close();
    }
  });
});
