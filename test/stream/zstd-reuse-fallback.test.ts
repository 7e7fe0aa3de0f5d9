// The zstd context reuse stands on node:zlib's stream objects (their `_handle.writeSync`), which no API promises.
// Where they are missing, or where a reused context answers differently from node:zlib's one-shot calls, the
// runtime must quietly compress and decompress through those calls instead, with the same bytes.
import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deviceBytes } from './stream-fixtures.ts';

// node:zlib's exports, which loadZstd() reads when it is first called
const z = zlib as unknown as Record<'ZstdCompress' | 'ZstdDecompress', unknown>;
const original = { ZstdCompress: z.ZstdCompress, ZstdDecompress: z.ZstdDecompress };

afterEach(() => {
  delete process.env.VFIO_MIGRATE_ZSTD_REUSE;
  z.ZstdCompress = original.ZstdCompress;
  z.ZstdDecompress = original.ZstdDecompress;
  vi.resetModules();
});

/** A fresh zstd runtime (its choice of implementation is cached per module instance). */
async function freshZstd() {
  vi.resetModules();
  const { loadZstd } = await import('../../src/stream/zstd-runtime.ts');
  return loadZstd();
}

function roundTrips(zstd: Awaited<ReturnType<typeof freshZstd>>): { inPlace: boolean } {
  const raw = deviceBytes(200_000, 11);
  const into = new Uint8Array(raw.length + 1024);
  const frame = zstd.compress(raw, 3, into);
  expect(frame).not.toBeNull();
  // what the stock decompressor makes of it
  expect(Buffer.compare(zlib.zstdDecompressSync(frame!), raw)).toBe(0);
  const out = new Uint8Array(raw.length);
  expect(Buffer.compare(zstd.decompress(frame!.slice(), raw.length, out), raw)).toBe(0);
  return { inPlace: frame!.buffer === into.buffer };
}

describe('zstd context reuse falls back to the one-shot calls', () => {
  it('reuses a context where the stream objects have what it needs (control)', async () => {
    expect(roundTrips(await freshZstd()).inPlace).toBe(true);
  });

  it('when VFIO_MIGRATE_ZSTD_REUSE=0 asks for it', async () => {
    process.env.VFIO_MIGRATE_ZSTD_REUSE = '0';
    expect(roundTrips(await freshZstd()).inPlace).toBe(false);
  });

  it('when the stream objects lack the internals', async () => {
    const bare = function Bare() {
      return { on() {}, close() {} };
    };
    z.ZstdCompress = bare;
    z.ZstdDecompress = bare;
    expect(roundTrips(await freshZstd()).inPlace).toBe(false);
  });

  it('when a reused context disagrees with the one-shot calls on the check sample', async () => {
    // a compressor whose writeSync reports a frame it never wrote
    const Real = original.ZstdCompress as new (o: object) => { _handle: { writeSync: (...a: unknown[]) => void } };
    z.ZstdCompress = function Lying(this: unknown, opts: object) {
      const engine = new Real(opts);
      const write = engine._handle.writeSync.bind(engine._handle);
      engine._handle.writeSync = (...args: unknown[]) => {
        write(...args);
        const out = args[4] as Uint8Array;
        out.fill(0x5a, args[5] as number, (args[5] as number) + 8);
      };
      return engine;
    };
    expect(roundTrips(await freshZstd()).inPlace).toBe(false);
  });

  it('when a reused context fails mid-run: that frame goes the one-shot way, the next gets a new context', async () => {
    // a compressor whose third call and later throw (after the check sample and one good frame)
    const Real = original.ZstdCompress as new (o: object) => { _handle: { writeSync: (...a: unknown[]) => void } };
    let engines = 0;
    let calls = 0;
    z.ZstdCompress = function Failing(this: unknown, opts: object) {
      engines++;
      const engine = new Real(opts);
      const write = engine._handle.writeSync.bind(engine._handle);
      engine._handle.writeSync = (...args: unknown[]) => {
        if (++calls === 3) throw new Error('injected: the native call failed');
        write(...args);
      };
      return engine;
    };
    const zstd = await freshZstd();
    expect(roundTrips(zstd).inPlace).toBe(true); // calls 1 (check) and 2
    expect(roundTrips(zstd).inPlace).toBe(false); // call 3 fails: one-shot
    expect(roundTrips(zstd).inPlace).toBe(true); // a new context
    expect(engines).toBe(2);
  });
});
