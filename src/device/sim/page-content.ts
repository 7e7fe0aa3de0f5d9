// The bytes of a simulated device's page: a pure function of (kind, seed, page index, generation). A device keeps only
// the generation of each page, so a multi-GiB state never lives in memory, and a destination can check every page it
// is given by regenerating it.
import { Buffer } from 'node:buffer';
import { type CoreInstance, loadCore } from '../../core/wasm-module.ts';
import { PAGE_SIZE, PageKind, type Region } from './profiles.ts';

/** A 32-bit finaliser (good avalanche) used to derive independent per-page seeds. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The content of a page, made by the WebAssembly core (`assembly/sim-page.ts`, the SIMD build where the engine has
 * it) into its 4 KiB page slot: per page, a seed derived from (seed, page, generation, kind) drives xorshift32.
 * - ZERO: all zero bytes; once written (generation > 0), its first 64 bytes are a small header.
 * - RANDOM: 1024 xorshift32 words (incompressible).
 * - TEXTURE: a 16-word palette forms a 64-byte row; rows repeat in fours, each four shaded by one more small step.
 * - STRUCT: 256 descriptors of 16 bytes: an address, its high half, a length and flags with a generation stamp.
 * In JavaScript this was a third of the producing thread's time on a GPU-like state (1.1 µs per texture page). One
 * generator per thread: the slot is the core's.
 */
export class PageGenerator {
  readonly #core: CoreInstance;
  readonly #fill: (dst: number, kind: number, seed: number, page: number, gen: number) => void;
  readonly #ptr: number;
  #slot: Buffer;

  constructor(core: CoreInstance = loadCore()) {
    this.#core = core;
    this.#fill = core.exports.simPageFill;
    this.#ptr = core.exports.simPagePtr();
    this.#slot = this.#view();
  }

  /** The bytes of `page` at generation `gen`, in the core's page slot: valid until the next call on this thread. */
  page(kind: PageKind, seed: number, page: number, gen: number): Buffer {
    this.#fill(this.#ptr, kind, seed, page, gen);
    // the core's memory never grows after it starts; were it to, the old view would be empty
    if (this.#slot.length === 0) this.#slot = this.#view();
    return this.#slot;
  }

  #view(): Buffer {
    return Buffer.from(this.#core.memory().buffer, this.#ptr, PAGE_SIZE);
  }

  /** Writes the page into `out` at byte offset `at`. */
  fill(out: Uint8Array, at: number, kind: PageKind, seed: number, page: number, gen: number): void {
    if (kind === PageKind.ZERO && gen === 0) out.fill(0, at, at + PAGE_SIZE);
    else out.set(this.page(kind, seed, page, gen), at);
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

/** Checks received page bytes against what the page must hold, generated in the core's page slot. */
export class PageChecker {
  readonly #map: PageMap;
  readonly #pages: PageGenerator;

  constructor(map: PageMap, pages = new PageGenerator()) {
    this.#map = map;
    this.#pages = pages;
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
    return this.#pages.page(kind, seed, page, gen).compare(data, start, end) === 0;
  }
}
