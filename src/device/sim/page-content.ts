// The bytes of a simulated device's page: a pure function of (kind, seed, page index, generation). A device keeps only
// the generation of each page, so a multi-GiB state never lives in memory, and a destination can check every page it
// is given by regenerating it.
import { Buffer } from 'node:buffer';
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

function xorshift32(s: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s;
}

/** One 16-word palette for TEXTURE pages, reused: a page is filled before the next one starts. */
const palette = new Uint32Array(16);

/**
 * Writes the content of `page` at generation `gen` into the 1024 words of `out` from word `at` (an offset, not a
 * subarray per page: a record's 32 pages made 32 garbage views).
 */
export function fillPage(out: Uint32Array, at: number, kind: PageKind, seed: number, page: number, gen: number): void {
  // xorshift32 on a local state (a closure over it cost 40% more): fast, deterministic, and all that is needed for
  // plausible device memory.
  let s = pageSeed(seed, page, gen, kind);
  switch (kind) {
    case PageKind.ZERO: {
      out.fill(0, at, at + WORDS);
      // Once written, an unused page carries a small header (an allocated buffer) and stays mostly zero.
      if (gen > 0) {
        for (let i = 0; i < 16; i++) {
          s = xorshift32(s);
          out[at + i] = s >>> 0;
        }
      }
      return;
    }
    case PageKind.RANDOM: {
      for (let i = 0; i < WORDS; i++) {
        s = xorshift32(s);
        out[at + i] = s >>> 0;
      }
      return;
    }
    case PageKind.TEXTURE: {
      // 64-byte rows from a 16-word palette; four rows in a row repeat, then shade by a small step.
      for (let i = 0; i < 16; i++) {
        s = xorshift32(s);
        palette[i] = s >>> 0;
      }
      s = xorshift32(s);
      const step = s & 0x01010101;
      for (let row = 0; row < WORDS / 16; row++) {
        const shade = Math.imul(row >>> 2, step);
        const w = at + row * 16;
        for (let i = 0; i < 16; i++) out[w + i] = (palette[i]! + shade) >>> 0;
      }
      return;
    }
    case PageKind.STRUCT: {
      // 256 descriptors of 16 bytes: buffer address, high half, length and flags with a generation stamp.
      s = xorshift32(s);
      const base = s & 0xfffff000;
      s = xorshift32(s);
      const hi = s & 0xff;
      for (let d = 0; d < WORDS / 4; d++) {
        s = xorshift32(s);
        out[at + d * 4] = (base + d * 2048) >>> 0;
        out[at + d * 4 + 1] = hi;
        out[at + d * 4 + 2] = (64 + (s & 1023)) | (d << 16);
        out[at + d * 4 + 3] = (0x80000000 | ((d & 1) << 20) | (gen & 0xffff)) >>> 0;
      }
      return;
    }
  }
}

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

/** An unwritten page, to compare zero pages against. */
const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/** Checks received page bytes against what the page must hold; reuses one scratch page. */
export class PageChecker {
  readonly #map: PageMap;
  readonly #scratch = new Uint32Array(WORDS);
  readonly #scratchBytes = Buffer.from(this.#scratch.buffer);

  constructor(map: PageMap) {
    this.#map = map;
  }

  /**
   * `data` is one page, or holds it at byte offset `at` (a record's pages are checked in place: a view per page was
   * most of the resuming device's garbage). The comparison is memcmp (Buffer's compare): a word loop in JS cost a
   * third of checking.
   */
  matches(data: Uint8Array, seed: number, page: number, gen: number, at?: number): boolean {
    const kind = this.#map.kindOf(page);
    const start = at ?? 0;
    if (at === undefined ? data.length !== PAGE_SIZE : start < 0 || start + PAGE_SIZE > data.length) return false;
    const end = start + PAGE_SIZE;
    if (kind === PageKind.ZERO && gen === 0) return ZERO_PAGE.compare(data, start, end) === 0;
    fillPage(this.#scratch, 0, kind, seed, page, gen);
    return this.#scratchBytes.compare(data, start, end) === 0;
  }
}
