// Content-defined chunking (FastCDC-style gear hash, normalized chunking) over the WebAssembly core, as an
// alternative to fixed-size chunks for deduplicating repeated state. Cut points depend only on the content and
// the sizes, not on how the input is split into push() calls.
import { UsageError } from '../errors.ts';
import { type CoreInstance, loadCore } from './wasm-module.ts';

export interface CdcOptions {
  /** No cut before this many bytes (default 16 KiB). */
  minSize?: number;
  /** Target average chunk size, a power of two (default 64 KiB). */
  avgSize?: number;
  /** Forced cut at this many bytes (default 256 KiB). */
  maxSize?: number;
}

const STATE_WORDS = 10; // fp lo/hi, pos, min, avg, max, maskS lo/hi, maskL lo/hi

/** Streaming chunker: push bytes, get the stream offsets where chunks end. */
export class ContentChunker {
  readonly #core: CoreInstance;
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  // the chunker's state lives here between calls and is copied into the core's CDC slot for each scan
  readonly #state = new Uint32Array(STATE_WORDS);
  #offset = 0;
  #lastCut = 0;

  constructor(options: CdcOptions = {}, core: CoreInstance = loadCore()) {
    this.#core = core;
    this.minSize = options.minSize ?? 16 << 10;
    this.avgSize = options.avgSize ?? 64 << 10;
    this.maxSize = options.maxSize ?? 256 << 10;
    const { minSize: min, avgSize: avg, maxSize: max } = this;
    if (!(Number.isInteger(avg) && avg >= 64 && (avg & (avg - 1)) === 0)) {
      throw new UsageError(`CDC average size ${avg} must be a power of two >= 64`);
    }
    if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 0 && min <= avg && avg <= max && max < 2 ** 31)) {
      throw new UsageError(`CDC sizes must satisfy 0 <= min (${min}) <= avg (${avg}) <= max (${max}) < 2 GiB`);
    }
    const ex = core.exports;
    const addr = core.statePtr + ex.cdcState();
    ex.cdcReset(addr, min, avg, max);
    this.#state.set(new Uint32Array(core.memory().buffer, addr, STATE_WORDS));
  }

  /**
   * Feeds `data`; appends to `cuts` (and returns it) the absolute stream offsets where chunks end within it.
   * Pass the same array each time to avoid allocating.
   */
  push(data: Uint8Array, cuts: number[] = []): number[] {
    const core = this.#core;
    const ex = core.exports;
    const addr = core.statePtr + ex.cdcState();
    const words = new Uint32Array(core.memory().buffer, addr, STATE_WORDS);
    words.set(this.#state);
    const input = core.input();
    for (let off = 0; off < data.length; ) {
      const n = Math.min(core.inSize, data.length - off);
      input.set(data.subarray(off, off + n));
      let p = 0;
      while (p < n) {
        const r = ex.cdcNext(addr, core.inPtr + p, n - p);
        if (r < 0) {
          p = n;
          break;
        }
        p += r;
        this.#lastCut = this.#offset + off + p;
        cuts.push(this.#lastCut);
      }
      off += n;
    }
    this.#offset += data.length;
    this.#state.set(words);
    return cuts;
  }

  /** Ends the stream: returns the offset where the final (short) chunk ends, or undefined when there is none. */
  finish(): number | undefined {
    if (this.#offset === this.#lastCut) return undefined;
    this.#lastCut = this.#offset;
    this.#state[0] = 0;
    this.#state[1] = 0;
    this.#state[2] = 0;
    return this.#offset;
  }

  /** Total bytes pushed so far. */
  get offset(): number {
    return this.#offset;
  }
}

/** Chunk end offsets of `data` as a whole (the last one is data.length when data is not empty). */
export function cdcBoundaries(data: Uint8Array, options?: CdcOptions, core: CoreInstance = loadCore()): number[] {
  const chunker = new ContentChunker(options, core);
  const cuts = chunker.push(data);
  const last = chunker.finish();
  if (last !== undefined) cuts.push(last);
  return cuts;
}
