// The bytes of a simulated device's page: a pure function of (kind, seed, page index, generation). A device keeps only
// the generation of each page, so a multi-GiB state never lives in memory, and a destination can check every page it
// is given by regenerating its head (the stream's XXH3 trailer covers every byte).
import { PAGE_SIZE, PageKind, type Region } from './profiles.ts';

const WORDS = PAGE_SIZE / 4;

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  // Page words are generated in native order; the stream format is defined little-endian, as VFIO hosts are.
  throw new Error('simulated devices need a little-endian host');
}

/** A 32-bit finaliser (good avalanche) used to derive independent per-page seeds. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function pageSeed(seed: number, page: number, gen: number, kind: number): number {
  const s = mix32(seed ^ mix32(Math.imul(page, 0x9e3779b9) ^ mix32(gen + Math.imul(kind + 1, 0x85ebca6b))));
  return s === 0 ? 0x6d2b79f5 : s;
}

/** Words at the head of a page that a destination regenerates to check each page it is given (the rest is hashed). */
export const HEAD_WORDS = 16;

/**
 * Writes the first `words` words (all 1024 by default) of `page` at generation `gen` into `out` from word `at` on.
 * Inline xorshift32 and no allocation: the producer fills pages straight into its write buffers. Int32 views keep
 * every value a small integer for the JIT (Uint32 elements above 2^31 would go through doubles).
 */
export function fillPage(
  out: Int32Array,
  at: number,
  kind: PageKind,
  seed: number,
  page: number,
  gen: number,
  words: number = WORDS,
): void {
  // xorshift32: fast, deterministic, and all that is needed for plausible device memory.
  let s = pageSeed(seed, page, gen, kind);
  switch (kind) {
    case PageKind.ZERO: {
      out.fill(0, at, at + words);
      // Once written, an unused page carries a small header (an allocated buffer) and stays mostly zero.
      if (gen > 0) {
        for (let i = 0; i < Math.min(16, words); i++) {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          out[at + i] = s;
        }
      }
      return;
    }
    case PageKind.RANDOM: {
      for (let i = 0; i < words; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        out[at + i] = s;
      }
      return;
    }
    case PageKind.TEXTURE: {
      // 64-byte rows from a 16-word palette; four rows in a row repeat, then shade by a small step.
      const palette = PALETTE;
      for (let i = 0; i < 16; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        palette[i] = s;
      }
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const step = s & 0x01010101;
      for (let w = 0; w < words; w += 64) {
        const shade = Math.imul(w >>> 6, step);
        const n = Math.min(64, words - w);
        for (let i = 0; i < n; i++) out[at + w + i] = (palette[i & 15]! + shade) | 0;
      }
      return;
    }
    case PageKind.STRUCT: {
      // 256 descriptors of 16 bytes: buffer address, high half, length and flags with a generation stamp.
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const base = s & 0xfffff000;
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const hi = s & 0xff;
      const stamp = 0x80000000 | (gen & 0xffff);
      for (let d = 0; d < words >>> 2; d++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        const w = at + d * 4;
        out[w] = (base + d * 2048) | 0;
        out[w + 1] = hi;
        out[w + 2] = (64 + (s & 1023)) | (d << 16);
        out[w + 3] = stamp | ((d & 1) << 20);
      }
      return;
    }
  }
}

/** One palette per thread: TEXTURE pages are filled one at a time. */
const PALETTE = new Int32Array(16);

/** The regions of a device, searchable by page. */
export class PageMap {
  readonly regions: readonly Region[];
  readonly pageCount: number;
  /** Pages a running device writes, as [start, end) ranges, with their total. */
  readonly hotRanges: readonly (readonly [number, number])[];
  readonly hotPages: number;

  constructor(regions: readonly Region[], pageCount: number) {
    this.regions = regions;
    this.pageCount = pageCount;
    this.hotRanges = regions.filter((r) => r.hot).map((r) => [r.start, r.end] as const);
    this.hotPages = this.hotRanges.reduce((n, [a, b]) => n + b - a, 0);
  }

  kindOf(page: number): PageKind {
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.regions[mid]!.start <= page) lo = mid;
      else hi = mid - 1;
    }
    return this.regions[lo]!.kind;
  }

  /** The `n`th hot page (0 <= n < hotPages). */
  hotPage(n: number): number {
    for (const [a, b] of this.hotRanges) {
      if (n < b - a) return a + n;
      n -= b - a;
    }
    throw new RangeError(`hot page ${n} out of range`);
  }
}

/** Checks a received page's head against what the page must hold; reuses one scratch head. */
export class PageChecker {
  readonly #map: PageMap;
  readonly #scratch = new Int32Array(HEAD_WORDS);

  constructor(map: PageMap) {
    this.#map = map;
  }

  /** `head` is the page's first HEAD_WORDS words. */
  headMatches(head: Int32Array, seed: number, page: number, gen: number): boolean {
    const expect = this.#scratch;
    fillPage(expect, 0, this.#map.kindOf(page), seed, page, gen, HEAD_WORDS);
    for (let i = 0; i < HEAD_WORDS; i++) if (head[i] !== expect[i]) return false;
    return true;
  }
}
