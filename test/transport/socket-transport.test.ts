import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectFailedError,
  ConnectionLostError,
  ListenFailedError,
  TlsHandshakeError,
  TransportSpecError,
} from '../../src/errors.ts';
import type { ByteSink, ByteSource } from '../../src/pipeline/byte-endpoints.ts';
import { type OpenTransportOptions, openSink, openSource } from '../../src/transport/open-transport.ts';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.ts';

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

/** A listening source on `spec` (port 0 allowed) and the address it bound. */
async function listen(spec: string, opts: OpenTransportOptions = {}) {
  let resolveAddr!: (a: string) => void;
  const address = new Promise<string>((r) => (resolveAddr = r));
  const source = openSource(spec, { ...opts, onListening: resolveAddr });
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

  it('refuses a certificate from an unknown CA on both sides', async () => {
    const { address, source } = await listen('tls://127.0.0.1:0', { tls: { cert: tlsFx.cert, key: tlsFx.key } });
    source.catch(() => {});
    await expect(openSink(address, { tls: { ca: tlsFx.otherCa } })).rejects.toBeInstanceOf(TlsHandshakeError);
    await expect(source).rejects.toBeInstanceOf(TlsHandshakeError);
  });

  it('refuses a wrong pre-shared key on both sides', async () => {
    const { address, source } = await listen('tls://127.0.0.1:0', {
      tls: { psk: { identity: 'vm-7', key: randomBytes(32) } },
    });
    source.catch(() => {});
    await expect(
      openSink(address, { tls: { psk: { identity: 'vm-7', key: randomBytes(32) } } }),
    ).rejects.toBeInstanceOf(TlsHandshakeError);
    await expect(source).rejects.toBeInstanceOf(TlsHandshakeError);
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
    await expect(src.read(buf)).rejects.toBeInstanceOf(ConnectionLostError);
    await sink.abort();
  });

  it('refuses a UNIX socket path another listener holds, without stealing its peer', async () => {
    const path = join(dir, 'busy.sock');
    const first = await listen(`unix:${path}`);
    await expect(openSource(`unix:${path}`)).rejects.toBeInstanceOf(ListenFailedError);
    const sink = await openSink(`unix:${path}`);
    await sink.write(Buffer.from('x'));
    await sink.end();
    await drain(await first.source);
  });

  it('stops listening when aborted', async () => {
    const controller = new AbortController();
    const { source } = await listen('tcp://:0', { signal: controller.signal });
    controller.abort();
    await expect(source).rejects.toMatchObject({ code: 'VFM_ABORTED' });
  });
});
