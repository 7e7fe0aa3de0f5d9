// XXH64 / XXH3-64 / XXH32 against the native reference (@node-rs/xxhash wraps the C xxHash) and `xxhsum`; CRC32C
// against known vectors and hash-wasm. Every length 0..2048, boundary lengths, arena alignments, both builds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xxh3 as nativeXxh3, xxh32 as nativeXxh32, xxh64 as nativeXxh64 } from '@node-rs/xxhash';
import { crc32 as wasmCrc32 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import {
  Crc32cStream,
  crc32c,
  crc32cInArena,
  Xxh3Stream,
  Xxh32Stream,
  Xxh64Stream,
  xxh3,
  xxh3InArena,
  xxh32,
  xxh32And64At,
  xxh64,
  xxh64At,
  xxh64InArena,
} from '../../src/core/checksums.ts';
import { type CoreFlavor, loadCore } from '../../src/core/wasm-module.ts';
import { randomBytes, rng, skipWithoutTool } from './helpers.ts';

const SEED = 0x0123456789abcdefn;
const flavors: CoreFlavor[] = ['simd', 'scalar'];
const big = randomBytes(10 << 20, 42);

describe.each(flavors)('xxHash (%s build)', (flavor) => {
  const core = loadCore(flavor);

  it('matches the reference for every length 0..2048, seed 0 and a seed', () => {
    const data = randomBytes(2048, 7);
    for (let n = 0; n <= 2048; n++) {
      const d = data.subarray(0, n);
      expect(xxh64(d, 0n, core), `xxh64 len ${n}`).toBe(nativeXxh64(d));
      expect(xxh3(d, 0n, core), `xxh3 len ${n}`).toBe(nativeXxh3.xxh64(d));
      expect(xxh32(d, 0, core), `xxh32 len ${n}`).toBe(nativeXxh32(d));
      if (n % 7 === 0 || n < 260) {
        expect(xxh64(d, SEED, core), `xxh64 seeded len ${n}`).toBe(nativeXxh64(d, SEED));
        expect(xxh3(d, SEED, core), `xxh3 seeded len ${n}`).toBe(nativeXxh3.xxh64(d, SEED));
        expect(xxh32(d, 0x9747b28c, core), `xxh32 seeded len ${n}`).toBe(nativeXxh32(d, 0x9747b28c));
      }
    }
  });

  it('matches on large and block-boundary lengths, including inputs larger than the arena', () => {
    const lengths = [4095, 4096, 4097, 65535, 65536, 65537, 1 << 20, (1 << 20) + 13, 4 << 20, (4 << 20) + 1, 10 << 20];
    for (const n of lengths) {
      const d = big.subarray(0, n);
      expect(xxh64(d, 0n, core), `xxh64 len ${n}`).toBe(nativeXxh64(d));
      expect(xxh3(d, 0n, core), `xxh3 len ${n}`).toBe(nativeXxh3.xxh64(d));
      expect(xxh3(d, SEED, core), `xxh3 seeded len ${n}`).toBe(nativeXxh3.xxh64(d, SEED));
    }
  });

  it('takes XXH32 and XXH64 of the same bytes in one pass, equal to each alone, at every length and alignment', () => {
    const lengths = [...Array.from({ length: 300 }, (_, n) => n), 1023, 1024, 1025, 4096 + 17, 1 << 20, (1 << 20) + 31];
    for (const off of [0, 1, 7, 16]) {
      for (const n of lengths) {
        const d = big.subarray(5000 + off, 5000 + off + n);
        core.input().set(d, off);
        const both = xxh32And64At(core.inPtr + off, n, core);
        expect(both.xxh64, `pair xxh64 len ${n} offset ${off}`).toBe(nativeXxh64(d));
        expect(both.xxh32, `pair xxh32 len ${n} offset ${off}`).toBe(nativeXxh32(d));
        expect(xxh64At(core.inPtr + off, n, 0n, core)).toBe(nativeXxh64(d));
      }
    }
  });

  it('is independent of the address alignment inside wasm memory', () => {
    const ex = core.exports;
    for (let off = 0; off < 16; off++) {
      for (const n of [0, 3, 8, 17, 129, 241, 1023, 1025, 5000]) {
        const d = big.subarray(1000 + off, 1000 + off + n);
        core.input().set(d, off);
        expect(BigInt.asUintN(64, ex.xxh64(core.inPtr + off, n, 0n))).toBe(nativeXxh64(d));
        expect(BigInt.asUintN(64, ex.xxh3(core.inPtr + off, n, 0n))).toBe(nativeXxh3.xxh64(d));
        expect(ex.xxh32(core.inPtr + off, n, 0) >>> 0).toBe(nativeXxh32(d));
        expect(crc32cInArena(0, ex.crc32cUpdate(0, core.inPtr + off, n) >>> 0, core)).toBe(crc32c(d, 0, core));
      }
    }
  });

  it('streams: any split gives the one-shot result, and interleaved streams do not disturb each other', () => {
    const r = rng(99);
    for (const n of [0, 1, 31, 32, 33, 240, 241, 255, 256, 257, 1024, 1025, 5000, 70000, (4 << 20) + 777]) {
      const d = big.subarray(0, n);
      const a = new Xxh64Stream(0n, core);
      const b = new Xxh3Stream(0n, core);
      const b2 = new Xxh3Stream(SEED, core);
      const c = new Xxh32Stream(0, core);
      const k = new Crc32cStream(core);
      let at = 0;
      while (at < n) {
        const step = Math.min(n - at, 1 + Math.floor(r() * (r() < 0.5 ? 70 : 300000)));
        const piece = d.subarray(at, at + step);
        a.update(piece);
        b.update(piece);
        b2.update(piece);
        c.update(piece);
        k.update(piece);
        at += step;
      }
      expect(a.digest(), `xxh64 stream ${n}`).toBe(nativeXxh64(d));
      expect(b.digest(), `xxh3 stream ${n}`).toBe(nativeXxh3.xxh64(d));
      expect(b2.digest(), `xxh3 seeded stream ${n}`).toBe(nativeXxh3.xxh64(d, SEED));
      expect(c.digest(), `xxh32 stream ${n}`).toBe(nativeXxh32(d));
      expect(k.digest()).toBe(crc32c(d, 0, core));
    }
  });

  it('hashes what the caller wrote into the arena (no copy)', () => {
    const d = big.subarray(0, 1 << 20);
    core.input().set(d);
    expect(xxh64InArena(d.length, 0n, core)).toBe(nativeXxh64(d));
    expect(xxh3InArena(d.length, 0n, core)).toBe(nativeXxh3.xxh64(d));
    expect(new Xxh3Stream(0n, core).updateFromArena(d.length).digest()).toBe(nativeXxh3.xxh64(d));
  });

  it('computes CRC32C (Castagnoli) like the iSCSI/ext4 polynomial', async () => {
    expect(crc32c(new TextEncoder().encode('123456789'), 0, core)).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32), 0, core)).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff), 0, core)).toBe(0x62a8ab43);
    expect(crc32c(new Uint8Array(0), 0, core)).toBe(0);
    for (const n of [1, 7, 8, 9, 63, 64, 1000, 4096, 100_003]) {
      const d = big.subarray(n, 2 * n);
      expect(crc32c(d, 0, core), `crc32c len ${n}`).toBe(Number.parseInt(await wasmCrc32(d, 0x82f63b78), 16));
      // continuing a CRC over two pieces equals one pass
      expect(crc32c(d.subarray(n >> 1), crc32c(d.subarray(0, n >> 1), 0, core), core)).toBe(crc32c(d, 0, core));
    }
  });
});

describe.skipIf(skipWithoutTool('xxhsum'))('xxhsum agreement', () => {
  it('gives the same XXH64 (-H1) and XXH3 (-H3) as xxhsum on files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfm-xxh-'));
    try {
      for (const n of [0, 5, 200, 1000, 123_457, (4 << 20) + 3]) {
        const file = join(dir, `f${n}`);
        const d = big.subarray(17, 17 + n);
        writeFileSync(file, d);
        const hex = (algo: string) =>
          /([0-9a-f]{16})/.exec(execFileSync('xxhsum', [algo, file], { encoding: 'utf8' }))![1]!;
        expect(xxh64(d).toString(16).padStart(16, '0'), `xxhsum -H1 len ${n}`).toBe(hex('-H1'));
        expect(xxh3(d).toString(16).padStart(16, '0'), `xxhsum -H3 len ${n}`).toBe(hex('-H3'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
