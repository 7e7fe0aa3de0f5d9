// Zero detection (whole chunk and per page) and content-defined chunking.
import { describe, expect, it } from 'vitest';
import { ContentChunker, cdcBoundaries } from '../../src/core/cdc.ts';
import { type CoreFlavor, loadCore } from '../../src/core/wasm-module.ts';
import { isZeroChunk, isZeroInArena, zeroPageMap } from '../../src/core/zero-detect.ts';
import { UsageError } from '../../src/errors.ts';
import { randomBytes, rng, structuredBytes } from './helpers.ts';

const flavors: CoreFlavor[] = ['simd', 'scalar'];

describe.each(flavors)('zero detection (%s build)', (flavor) => {
  const core = loadCore(flavor);

  it('finds a single non-zero byte at any position, length and alignment', () => {
    for (let n = 0; n <= 300; n++) {
      const z = new Uint8Array(n + 16);
      for (let off = 0; off < 16; off += 5) expect(isZeroChunk(z.subarray(off, off + n), core)).toBe(true);
      for (let i = 0; i < n; i++) {
        z[i + 3] = 1 << (i & 7);
        if (isZeroChunk(z.subarray(3, 3 + n), core)) throw new Error(`missed byte ${i} of ${n}`);
        z[i + 3] = 0;
      }
    }
    const big = new Uint8Array(9 << 20);
    expect(isZeroChunk(big, core)).toBe(true);
    for (const at of [1, 65535, 65536, 4 << 20, (9 << 20) - 2]) {
      big[at] = 9;
      expect(isZeroChunk(big, core), `9 MiB byte ${at}`).toBe(false);
      big[at] = 0;
    }
    core.input().fill(0, 0, 1 << 20);
    expect(isZeroInArena(1 << 20, core)).toBe(true);
  });

  it('maps zero pages, including a short last page and other page sizes', () => {
    const data = structuredBytes((1 << 20) + 100, 3);
    for (const pageSize of [4096, 512, 65536, 1 << 20]) {
      const { map, zeroPages } = zeroPageMap(data, undefined, pageSize, core);
      expect(map.length).toBe(Math.ceil(data.length / pageSize));
      let expected = 0;
      for (let p = 0; p < map.length; p++) {
        const page = data.subarray(p * pageSize, (p + 1) * pageSize);
        const zero = page.every((b) => b === 0) ? 1 : 0;
        expect(map[p], `page ${p} of ${pageSize}`).toBe(zero);
        expected += zero;
      }
      expect(zeroPages).toBe(expected);
      expect(expected).toBeGreaterThan(0);
    }
    expect(() => zeroPageMap(data, new Uint8Array(1), 4096, core)).toThrow(UsageError);
    expect(() => zeroPageMap(data, undefined, 3000, core)).toThrow(UsageError);
  });
});

describe.each(flavors)('content-defined chunking (%s build)', (flavor) => {
  const core = loadCore(flavor);
  const opts = { minSize: 2048, avgSize: 8192, maxSize: 32768 };

  it('cuts within min/max, near the average, and the same however the input is pushed', () => {
    const data = randomBytes(4 << 20, 12);
    const cuts = cdcBoundaries(data, opts, core);
    expect(cuts.at(-1)).toBe(data.length);
    let prev = 0;
    for (const c of cuts.slice(0, -1)) {
      expect(c - prev).toBeGreaterThanOrEqual(opts.minSize);
      expect(c - prev).toBeLessThanOrEqual(opts.maxSize);
      prev = c;
    }
    const avg = data.length / cuts.length;
    expect(avg).toBeGreaterThan(opts.avgSize * 0.6);
    expect(avg).toBeLessThan(opts.avgSize * 1.6);
    const r = rng(3);
    const chunker = new ContentChunker(opts, core);
    const pushed: number[] = [];
    for (let at = 0; at < data.length; ) {
      const n = Math.min(data.length - at, 1 + Math.floor(r() * 50_000));
      chunker.push(data.subarray(at, at + n), pushed);
      at += n;
    }
    const last = chunker.finish();
    if (last !== undefined) pushed.push(last);
    expect(pushed).toEqual(cuts);
  });

  it('re-synchronises after an insertion (dedup property) and forces cuts at max on zeros', () => {
    const data = randomBytes(2 << 20, 13);
    const shifted = new Uint8Array(data.length + 100);
    shifted.set(data.subarray(0, 500_000));
    shifted.set(randomBytes(100, 14), 500_000);
    shifted.set(data.subarray(500_000), 500_100);
    const a = new Set(cdcBoundaries(data, opts, core).filter((c) => c > 600_000));
    const b = cdcBoundaries(shifted, opts, core)
      .filter((c) => c > 600_100)
      .map((c) => c - 100);
    const common = b.filter((c) => a.has(c)).length;
    expect(common / b.length).toBeGreaterThan(0.95);
    const zeros = cdcBoundaries(new Uint8Array(100_000), opts, core);
    expect(zeros.slice(0, 3)).toEqual([32768, 65536, 98304]);
  });

  it('validates its sizes', () => {
    expect(() => new ContentChunker({ avgSize: 5000 }, core)).toThrow(UsageError);
    expect(() => new ContentChunker({ minSize: 10_000, avgSize: 8192 }, core)).toThrow(UsageError);
  });
});
