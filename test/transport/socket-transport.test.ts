import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcceptTimeoutError,
  ConnectFailedError,
  ConnectionLostError,
  ListenFailedError,
  PeerStalledError,
  TlsHandshakeError,
  TransportSpecError,
} from '../../src/errors.ts';
import { type ByteSink, type ByteSource, sinkFromCallback } from '../../src/pipeline/byte-endpoints.ts';
import { saveStream } from '../../src/pipeline/stream-saver.ts';
import { type OpenTransportOptions, openSink, openSource } from '../../src/transport/open-transport.ts';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.ts';

/** A small but real vfio-migrate stream. */
async function encodedStream(): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await saveStream(
    [new Uint8Array(5000).fill(7)],
    sinkFromCallback((d) => void parts.push(d)),
    { workers: 0 },
  );
  return new Uint8Array(Buffer.concat(parts));
}

let dir: string;
let tlsFx: TlsFixture;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfm-sock-'));
  tlsFx = makeTlsFixture();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(tlsFx.dir, { recursive: true, force: true });
});

async function drain(source: ByteSource): Promise<Buffer> {
  const parts: Buffer[] = [];
  const buf = new Uint8Array(64 << 10);
  for (;;) {
    const n = await source.read(buf);
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  await source.close();
  return Buffer.concat(parts);
}

/**
 * A listening source on `spec` (port 0 allowed) and the address it bound. These tests move raw bytes, so the
 * default admission (a vfio-migrate stream must start) is off unless a test asks for it.
 */
async function listen(spec: string, opts: OpenTransportOptions = {}) {
  let resolveAddr!: (a: string) => void;
  const address = new Promise<string>((r) => (resolveAddr = r));
  const source = openSource(spec, { admit: null, ...opts, onListening: resolveAddr });
  return { address: await address, source };
}

async function roundTrip(listenSpec: string, listenOpts: OpenTransportOptions, connectOpts: OpenTransportOptions) {
  const payload = randomBytes(3 << 20);
  const { address, source } = await listen(listenSpec, listenOpts);
  const sink = await openSink(address, connectOpts);
  const received = source.then(drain);
  for (let off = 0; off < payload.length; off += 200_000) await sink.write(payload.subarray(off, off + 200_000));
  await sink.end();
  expect(Buffer.compare(await received, payload)).toBe(0);
}

describe('socket transports', () => {
  it('moves bytes over TCP on loopback with a listener on a free port', async () => {
    await roundTrip('tcp://:0', {}, {});
  });

  it('binds the loopback address when the spec names no host', async () => {
    const { address, source } = await listen('tcp://:0', { acceptTimeoutMs: 200 });
    expect(address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await expect(source).rejects.toBeInstanceOf(ListenFailedError);
  });

  it('moves bytes over a UNIX socket and removes the socket file afterwards', async () => {
    const path = join(dir, 'a.sock');
    await roundTrip(`unix:${path}`, {}, {});
    const { existsSync } = await import('node:fs');
    expect(existsSync(path)).toBe(false);
  });

  it('moves bytes over TLS with a certificate checked against the CA', async () => {
    await roundTrip('tls://127.0.0.1:0', { tls: { cert: tlsFx.cert, key: tlsFx.key } }, { tls: { ca: tlsFx.ca } });
  });

  it('moves bytes over TLS with a pre-shared key', async () => {
    const psk = { identity: 'vm-7', key: randomBytes(32) };
    await roundTrip('tls://127.0.0.1:0', { tls: { psk } }, { tls: { psk } });
  });

  it('refuses a client that trusts another CA, says so, and still accepts the right peer afterwards', async () => {
    const refused: string[] = [];
    const { address, source } = await listen('tls://127.0.0.1:0', {
      tls: { cert: tlsFx.cert, key: tlsFx.key },
      onRefused: (_peer, reason) => refused.push(reason),
    });
    await expect(openSink(address, { tls: { ca: tlsFx.otherCa } })).rejects.toBeInstanceOf(TlsHandshakeError);
    const sink = await openSink(address, { tls: { ca: tlsFx.ca } });
    const received = source.then(drain);
    await sink.write(Buffer.from('the right peer'));
    await sink.end();
    expect((await received).toString()).toBe('the right peer');
    expect(refused.join('\n')).toMatch(/TLS handshake/);
  });

  it('refuses a wrong pre-shared key in plain words on both sides, and keeps waiting for the right one', async () => {
    const psk = { identity: 'vm-7', key: randomBytes(32) };
    const refused: string[] = [];
    const { address, source } = await listen('tls://127.0.0.1:0', {
      tls: { psk },
      acceptTimeoutMs: 5_000,
      onRefused: (_peer, reason) => refused.push(reason),
    });
    const wrong = openSink(address, { tls: { psk: { identity: 'vm-7', key: randomBytes(32) } } });
    await expect(wrong).rejects.toBeInstanceOf(TlsHandshakeError);
    await expect(wrong).rejects.toThrow(/wrong pre-shared key or identity/);
    const sink = await openSink(address, { tls: { psk } });
    const received = source.then(drain);
    await sink.write(Buffer.from('ok'));
    await sink.end();
    expect((await received).toString()).toBe('ok');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/wrong pre-shared key or identity/);
  });

  it('requires certificates or a PSK for a TLS listener', async () => {
    await expect(openSource('tls://127.0.0.1:0', {})).rejects.toBeInstanceOf(TransportSpecError);
  });

  it('gives up connecting when nobody listens before the connect timeout', async () => {
    const t0 = Date.now();
    await expect(openSink(`unix:${join(dir, 'nobody.sock')}`, { connectTimeoutMs: 300 })).rejects.toBeInstanceOf(
      ConnectFailedError,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('connects once the listener appears (the sender may start first)', async () => {
    const path = join(dir, 'late.sock');
    const sinkP = openSink(`unix:${path}`, { connectTimeoutMs: 5_000 });
    await new Promise((r) => setTimeout(r, 150));
    const { source } = await listen(`unix:${path}`);
    const sink = await sinkP;
    const received = source.then(drain);
    await sink.write(Buffer.from('hello'));
    await sink.end();
    expect((await received).toString()).toBe('hello');
  });

  it('reports a lost connection on the sender when the receiver goes away mid-stream', async () => {
    const { address, source } = await listen('tcp://:0');
    const sink: ByteSink = await openSink(address);
    const src = await source;
    const buf = new Uint8Array(1024);
    await sink.write(new Uint8Array(1024));
    await src.read(buf);
    await src.close(); // the receiver dies: its socket is destroyed
    const chunk = new Uint8Array(1 << 20);
    await expect(
      (async () => {
        for (let i = 0; i < 64; i++) await sink.write(chunk);
      })(),
    ).rejects.toBeInstanceOf(ConnectionLostError);
    await sink.abort();
  });

  it('reports a lost connection on the receiver when the sender resets mid-stream', async () => {
    const { address, source } = await listen('tcp://:0');
    const sink = await openSink(address);
    const src = await source;
    await sink.write(new Uint8Array(4096));
    await sink.abort(new Error('sender crashed')); // destroy: RST or an early close, never a clean end
    const buf = new Uint8Array(1 << 16);
    const readAll = async () => {
      for (;;) if ((await src.read(buf)) === 0) return 'clean end';
    };
    // A destroyed peer may surface as a reset or as an EOF; an EOF without the stream trailer is the parser's job.
    const outcome = await readAll().catch((e) => e);
    if (outcome !== 'clean end') expect(outcome).toBeInstanceOf(ConnectionLostError);
    await src.close();
  });

  it('fails a receiver that hears nothing for the idle timeout instead of hanging', async () => {
    const { address, source } = await listen('tcp://:0', { idleTimeoutMs: 200 });
    const sink = await openSink(address);
    const src = await source;
    await sink.write(new Uint8Array(10));
    const buf = new Uint8Array(100);
    expect(await src.read(buf)).toBe(10);
    await expect(src.read(buf)).rejects.toMatchObject({ code: 'VFM_PEER_STALLED', limit: 'idle' });
    await sink.abort();
  });

  it('cuts a sender that trickles a byte at a time below the minimum rate', async () => {
    const { address, source } = await listen('tcp://:0', { idleTimeoutMs: 1_000, minRate: 1024, rateWindowMs: 600 });
    const peer = net.connect(Number(new URL(address).port), '127.0.0.1');
    const src = await source;
    const drip = setInterval(() => peer.write('x'), 50);
    const buf = new Uint8Array(100);
    const t0 = Date.now();
    const outcome = await (async () => {
      for (;;) await src.read(buf);
    })().catch((e) => e);
    clearInterval(drip);
    peer.destroy();
    expect(outcome).toBeInstanceOf(PeerStalledError);
    expect(outcome).toMatchObject({ limit: 'min-rate' });
    expect(Date.now() - t0).toBeLessThan(3_000); // each read makes progress: the idle timer alone never fires
  });

  it('cuts a sender whose peer stops reading, instead of blocking it forever', async () => {
    const { address, source } = await listen('tcp://:0');
    const sink = await openSink(address, { idleTimeoutMs: 300 });
    await source; // accepted, never read
    const chunk = new Uint8Array(1 << 20);
    const outcome = await (async () => {
      for (let i = 0; i < 256; i++) await sink.write(chunk);
    })().catch((e) => e);
    expect(outcome).toBeInstanceOf(PeerStalledError);
    await sink.abort();
  });

  it('owns a peer reset that comes before the first read (no unhandled error), and reports it on read', async () => {
    const { address, source } = await listen('tcp://:0');
    const peer = net.connect(Number(new URL(address).port), '127.0.0.1');
    const src = await source;
    await new Promise((r) => peer.once('connect', r));
    peer.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200)); // the RST arrives while nobody reads
    await expect(src.read(new Uint8Array(10))).rejects.toBeInstanceOf(ConnectionLostError);
    await src.close();
  });

  it('by default admits only a peer that starts a vfio-migrate stream, refusing silent and foreign ones', async () => {
    const refused: string[] = [];
    const { address, source } = await listen('tcp://:0', {
      admit: undefined,
      handshakeTimeoutMs: 300,
      onRefused: (_peer, reason) => refused.push(reason),
    });
    const port = Number(new URL(address).port);
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    const http = net.connect(port, '127.0.0.1', () => http.write('GET / HTTP/1.1\r\n\r\n'));
    http.on('error', () => {});
    const reset = net.connect(port, '127.0.0.1', () => reset.resetAndDestroy());
    reset.on('error', () => {});
    await new Promise((r) => setTimeout(r, 600));
    const stream = await encodedStream();
    const sink = await openSink(address);
    const received = source.then(drain);
    await sink.write(stream);
    await sink.end();
    expect(Buffer.compare(await received, Buffer.from(stream))).toBe(0);
    expect(refused.join('\n')).toMatch(/not a vfio-migrate stream \(it starts with "GET \/ HT"\)/);
    expect(refused.join('\n')).toMatch(/sent no valid start within 300 ms/);
    expect(refused.length).toBe(3);
    silent.destroy();
    http.destroy();
  });

  it('gives up at the accept deadline, naming the peers it refused', async () => {
    const { address, source } = await listen('tcp://:0', {
      admit: undefined,
      acceptTimeoutMs: 800,
      handshakeTimeoutMs: 200,
    });
    const stray = net.connect(Number(new URL(address).port), '127.0.0.1', () => stray.write('hello there'));
    stray.on('error', () => {});
    const err = await source.catch((e) => e);
    expect(err).toBeInstanceOf(AcceptTimeoutError);
    expect(err.refused).toHaveLength(1);
    expect(err.message, err.message).toMatch(/refused 1: .*not a vfio-migrate stream/);
    stray.destroy();
  });

  it('refuses a UNIX socket path another listener holds, without stealing its peer', async () => {
    const path = join(dir, 'busy.sock');
    const first = await listen(`unix:${path}`);
    await expect(openSource(`unix:${path}`)).rejects.toBeInstanceOf(ListenFailedError);
    const sink = await openSink(`unix:${path}`);
    const received = first.source.then(drain);
    await sink.write(Buffer.from('x'));
    await sink.end();
    expect((await received).toString()).toBe('x');
  });

  it('stops listening when aborted', async () => {
    const controller = new AbortController();
    const { source } = await listen('tcp://:0', { signal: controller.signal });
    controller.abort();
    await expect(source).rejects.toMatchObject({ code: 'VFM_ABORTED' });
  });
});
