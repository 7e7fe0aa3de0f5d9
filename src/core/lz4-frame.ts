// The standard LZ4 frame format (magic 0x184D2204) over the WebAssembly core, streaming in both directions.
// The encoder writes independent blocks (64 KiB..4 MiB, default 4 MiB like `lz4`), optional block checksums,
// content size and content checksum (on by default, like `lz4`). The decoder accepts what `lz4` writes: any block
// size, independent or linked blocks (the last 64 KiB of output kept as the dictionary), block and content
// checksums, content size, skippable frames and concatenated frames. Dictionary IDs and the legacy format are
// refused with Lz4FrameError.
//
// Both push their output to a sink callback as views into the core's memory: a view is valid only until the next
// call into the core (copy it if you keep it). The one-shot helpers collect copies.
import {
  Lz4ChecksumError,
  Lz4FrameError,
  Lz4MalformedError,
  Lz4OutputTooSmallError,
  Lz4TruncatedError,
  UsageError,
} from '../errors.ts';
import { Xxh32Stream, xxh32And64At, xxh64At } from './checksums.ts';
import { LZ4_WINDOW, throwLz4Error } from './lz4-block.ts';
import { type CoreInstance, claimWindow, loadCore, releaseSlot, type SlotUser } from './wasm-module.ts';

export const LZ4_FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const LEGACY_MAGIC = 0x184c2102;

export type Lz4BlockSize = 65536 | 262144 | 1048576 | 4194304;
const BLOCK_SIZES: readonly number[] = [65536, 262144, 1048576, 4194304];

export interface Lz4FrameOptions {
  /** Maximum block size; default 4 MiB (`lz4 -B7`, the CLI default). */
  blockSize?: Lz4BlockSize;
  /** XXH32 of the whole content after the end mark; default true (the `lz4` CLI default). */
  contentChecksum?: boolean;
  /** XXH32 after each block; default false. */
  blockChecksum?: boolean;
  /** Total content size, written in the header and checked when the frame ends. */
  contentSize?: number;
  /** LZ4 acceleration (>= 1); default 1 (= `lz4 -1`). */
  acceleration?: number;
}

export type Lz4Sink = (bytes: Uint8Array) => void;

const le32 = (b: Uint8Array, at: number) =>
  ((b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0) as number;

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

function headerChecksum(core: CoreInstance, descriptor: Uint8Array): number {
  core.input().set(descriptor);
  return (core.exports.xxh32(core.inPtr, descriptor.length, 0) >>> 8) & 0xff;
}

// ---- encoder ----------------------------------------------------------------------------------------------------

/** Streaming frame encoder: `write()` any amount, then `end()`; output goes to the sink. */
export class Lz4FrameEncoder {
  readonly #core: CoreInstance;
  readonly #blockSize: number;
  readonly #contentChecksum: boolean;
  readonly #blockChecksum: boolean;
  readonly #contentSize: number | undefined;
  readonly #acceleration: number;
  readonly #xxh: Xxh32Stream | undefined;
  #pending: Uint8Array | undefined;
  #pendingLen = 0;
  #started = false;
  #ended = false;
  #total = 0;

  constructor(options: Lz4FrameOptions = {}, core: CoreInstance = loadCore()) {
    this.#core = core;
    this.#blockSize = options.blockSize ?? 4194304;
    if (!BLOCK_SIZES.includes(this.#blockSize)) {
      throw new UsageError(`LZ4 block size ${this.#blockSize} must be one of ${BLOCK_SIZES.join(', ')}`);
    }
    this.#contentChecksum = options.contentChecksum ?? true;
    this.#blockChecksum = options.blockChecksum ?? false;
    this.#contentSize = options.contentSize;
    this.#acceleration = options.acceleration ?? 1;
    this.#xxh = this.#contentChecksum ? new Xxh32Stream(0, core) : undefined;
  }

  #header(sink: Lz4Sink): void {
    const h = new Uint8Array(this.#contentSize === undefined ? 7 : 15);
    put32(h, 0, LZ4_FRAME_MAGIC);
    h[4] =
      0x60 |
      (this.#blockChecksum ? 0x10 : 0) |
      (this.#contentSize !== undefined ? 0x08 : 0) |
      (this.#contentChecksum ? 0x04 : 0);
    h[5] = (BLOCK_SIZES.indexOf(this.#blockSize) + 4) << 4;
    if (this.#contentSize !== undefined) {
      const size = this.#contentSize;
      put32(h, 6, size % 0x100000000);
      put32(h, 10, Math.floor(size / 0x100000000));
    }
    h[h.length - 1] = headerChecksum(this.#core, h.subarray(4, h.length - 1));
    sink(h);
    this.#started = true;
  }

  // Compresses the block in IN[0, len) and emits [size][data][checksum?] from the OUT arena.
  #emitBlock(len: number, sink: Lz4Sink): void {
    const core = this.#core;
    const ex = core.exports;
    this.#xxh?.updateFromArena(len);
    const out = core.output();
    let n = ex.lz4Compress(core.inPtr, len, core.outPtr + 4, len - 1, this.#acceleration);
    let word = n;
    if (n === 0) {
      // incompressible: stored raw, flagged by the high bit of the size
      n = len;
      out.set(core.input().subarray(0, len), 4);
      word = (n | 0x80000000) >>> 0;
    }
    put32(out, 0, word);
    let size = 4 + n;
    if (this.#blockChecksum) {
      put32(out, size, ex.xxh32(core.outPtr + 4, n, 0) >>> 0);
      size += 4;
    }
    sink(out.subarray(0, size));
  }

  write(data: Uint8Array, sink: Lz4Sink): void {
    if (this.#ended) throw new UsageError('LZ4 frame encoder used after end()');
    if (!this.#started) this.#header(sink);
    this.#total += data.length;
    const bs = this.#blockSize;
    let pos = 0;
    if (this.#pendingLen > 0) {
      const n = Math.min(bs - this.#pendingLen, data.length);
      this.#pending!.set(data.subarray(0, n), this.#pendingLen);
      this.#pendingLen += n;
      pos = n;
      if (this.#pendingLen < bs) return;
      this.#core.input().set(this.#pending!);
      this.#pendingLen = 0;
      this.#emitBlock(bs, sink);
    }
    // whole blocks straight from the caller's data
    while (data.length - pos >= bs) {
      this.#core.input().set(data.subarray(pos, pos + bs));
      this.#emitBlock(bs, sink);
      pos += bs;
    }
    if (pos < data.length) {
      this.#pending ??= new Uint8Array(bs);
      this.#pending.set(data.subarray(pos), 0);
      this.#pendingLen = data.length - pos;
    }
  }

  end(sink: Lz4Sink): void {
    if (this.#ended) return;
    if (!this.#started) this.#header(sink);
    if (this.#pendingLen > 0) {
      this.#core.input().set(this.#pending!.subarray(0, this.#pendingLen));
      this.#emitBlock(this.#pendingLen, sink);
      this.#pendingLen = 0;
    }
    if (this.#contentSize !== undefined && this.#contentSize !== this.#total) {
      throw new UsageError(`LZ4 frame declared ${this.#contentSize} content bytes but got ${this.#total}`);
    }
    const tail = new Uint8Array(this.#xxh ? 8 : 4);
    if (this.#xxh) {
      put32(tail, 4, this.#xxh.digest());
      this.#xxh.dispose();
    }
    sink(tail);
    this.#ended = true;
  }
}

// ---- decoder ----------------------------------------------------------------------------------------------------

type Phase = 'magic' | 'flags' | 'header' | 'blockSize' | 'block' | 'checksum' | 'skipSize' | 'skip';

/**
 * Streaming frame decoder: `write()` compressed bytes in any pieces, decoded blocks go to the sink; `end()` checks
 * that the input did not stop inside a frame.
 */
export class Lz4FrameDecoder implements SlotUser {
  readonly #core: CoreInstance;
  #phase: Phase = 'magic';
  #need = 4;
  #buf = new Uint8Array(64);
  #have = 0;
  #flg = 0;
  #bd = 0;
  #blockMax = 0;
  #linked = false;
  #blockChecksum = false;
  #contentSize: number | undefined;
  #produced = 0;
  #blockLen = 0;
  #blockRaw = false;
  #skipLeft = 0;
  #dictLen = 0;
  #savedWindow: Uint8Array | undefined;
  #xxh: Xxh32Stream | undefined;
  #frames = 0;
  readonly #wantXxh64: boolean;
  /** XXH32 of a frame whose content came in one block, taken with its XXH64 in one pass. */
  #wholeXxh32: number | undefined;
  #contentXxh64: bigint | undefined;

  /**
   * With `contentXxh64`, a frame whose whole content is one block (its declared size) also has its XXH64 taken, from
   * the output arena, together with its XXH32 content checksum when it has one (see contentXxh64).
   */
  constructor(core: CoreInstance = loadCore(), opts: { contentXxh64?: boolean } = {}) {
    this.#core = core;
    this.#wantXxh64 = opts.contentXxh64 ?? false;
  }

  /** XXH64 (seed 0) of the last frame's content when it was one block and the option asked for it; else undefined. */
  get contentXxh64(): bigint | undefined {
    return this.#contentXxh64;
  }

  /** Number of complete LZ4 frames decoded so far (skippable frames not counted). */
  get frames(): number {
    return this.#frames;
  }

  /** Saves this decoder's dictionary: another user is taking the window. */
  evict(): void {
    const core = this.#core;
    this.#savedWindow ??= new Uint8Array(LZ4_WINDOW);
    this.#savedWindow.set(core.memory().subarray(core.outPtr - this.#dictLen, core.outPtr));
  }

  write(chunk: Uint8Array, sink: Lz4Sink): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#phase === 'skip') {
        const n = Math.min(this.#skipLeft, chunk.length - pos);
        pos += n;
        this.#skipLeft -= n;
        if (this.#skipLeft === 0) this.#expect('magic', 4);
        continue;
      }
      const need = this.#need;
      let unit: Uint8Array;
      if (this.#have === 0 && chunk.length - pos >= need) {
        unit = chunk.subarray(pos, pos + need);
        pos += need;
      } else {
        if (this.#buf.length < need) {
          const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
          grown.set(this.#buf.subarray(0, this.#have));
          this.#buf = grown;
        }
        const n = Math.min(need - this.#have, chunk.length - pos);
        this.#buf.set(chunk.subarray(pos, pos + n), this.#have);
        this.#have += n;
        pos += n;
        if (this.#have < need) break;
        unit = this.#buf.subarray(0, need);
        this.#have = 0;
      }
      this.#step(unit, sink);
    }
  }

  /** Throws Lz4TruncatedError when the input ended inside a frame. */
  end(): void {
    if (this.#phase !== 'magic' || this.#have !== 0) {
      throw new Lz4TruncatedError(`LZ4 input ended inside a frame (while reading ${this.#phase})`);
    }
  }

  #expect(phase: Phase, need: number): void {
    this.#phase = phase;
    this.#need = need;
  }

  #step(unit: Uint8Array, sink: Lz4Sink): void {
    switch (this.#phase) {
      case 'magic': {
        const magic = le32(unit, 0);
        if (magic === LZ4_FRAME_MAGIC) this.#expect('flags', 2);
        else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.#expect('skipSize', 4);
        else if (magic === LEGACY_MAGIC) throw new Lz4FrameError('legacy LZ4 frames (lz4 -l) are not supported');
        else throw new Lz4FrameError(`not an LZ4 frame: magic 0x${magic.toString(16).padStart(8, '0')}`);
        return;
      }
      case 'flags': {
        const flg = unit[0]!;
        const bd = unit[1]!;
        if (flg >>> 6 !== 1) throw new Lz4FrameError(`unsupported LZ4 frame version ${flg >>> 6}`);
        if (flg & 0x02 || bd & 0x8f) throw new Lz4FrameError('LZ4 frame header has reserved bits set');
        if (flg & 0x01) throw new Lz4FrameError('LZ4 frames with a dictionary ID are not supported');
        const code = (bd >>> 4) & 7;
        if (code < 4) throw new Lz4FrameError(`invalid LZ4 block size code ${code}`);
        this.#flg = flg;
        this.#bd = bd;
        this.#blockMax = BLOCK_SIZES[code - 4]!;
        this.#expect('header', (flg & 0x08 ? 8 : 0) + 1);
        return;
      }
      case 'header': {
        const descriptor = new Uint8Array(unit.length + 1);
        descriptor[0] = this.#flg;
        descriptor[1] = this.#bd;
        descriptor.set(unit.subarray(0, unit.length - 1), 2);
        const hc = headerChecksum(this.#core, descriptor);
        if (hc !== unit[unit.length - 1]) throw new Lz4ChecksumError('header', unit[unit.length - 1]!, hc);
        this.#contentSize = this.#flg & 0x08 ? le32(unit, 0) + le32(unit, 4) * 0x100000000 : undefined;
        this.#linked = (this.#flg & 0x20) === 0;
        this.#blockChecksum = (this.#flg & 0x10) !== 0;
        this.#xxh?.dispose();
        this.#xxh = this.#flg & 0x04 ? new Xxh32Stream(0, this.#core) : undefined;
        this.#wholeXxh32 = undefined;
        this.#contentXxh64 = undefined;
        this.#produced = 0;
        this.#dictLen = 0;
        this.#expect('blockSize', 4);
        return;
      }
      case 'blockSize': {
        const word = le32(unit, 0);
        if (word === 0) {
          if (this.#xxh) this.#expect('checksum', 4);
          else this.#endFrame();
          return;
        }
        this.#blockRaw = word >>> 31 === 1;
        this.#blockLen = word & 0x7fffffff;
        if (this.#blockLen > this.#blockMax) {
          throw new Lz4FrameError(`LZ4 block of ${this.#blockLen} bytes exceeds the frame's ${this.#blockMax}`);
        }
        const need = this.#blockLen + (this.#blockChecksum ? 4 : 0);
        if (need > 0) this.#expect('block', need);
        return;
      }
      case 'block':
        this.#block(unit, sink);
        this.#expect('blockSize', 4);
        return;
      case 'checksum': {
        const expected = le32(unit, 0);
        const actual = this.#wholeXxh32 ?? this.#xxh!.digest();
        if (expected !== actual) throw new Lz4ChecksumError('content', expected, actual);
        this.#endFrame();
        return;
      }
      case 'skipSize': {
        this.#skipLeft = le32(unit, 0);
        if (this.#skipLeft === 0) this.#expect('magic', 4);
        else this.#phase = 'skip';
        return;
      }
      case 'skip':
        return;
    }
  }

  #block(unit: Uint8Array, sink: Lz4Sink): void {
    const core = this.#core;
    const ex = core.exports;
    const len = this.#blockLen;
    const data = unit.subarray(0, len);
    if (this.#linked && claimWindow(core, this) && this.#dictLen > 0) {
      core.memory().set(this.#savedWindow!.subarray(0, this.#dictLen), core.outPtr - this.#dictLen);
    }
    let produced: number;
    if (this.#blockRaw) {
      core.output().set(data);
      produced = len;
      if (this.#blockChecksum) this.#checkBlock(unit, ex.xxh32(core.outPtr, len, 0) >>> 0);
    } else {
      core.input().set(data);
      if (this.#blockChecksum) this.#checkBlock(unit, ex.xxh32(core.inPtr, len, 0) >>> 0);
      produced = ex.lz4Decompress(core.inPtr, len, core.outPtr, this.#blockMax, this.#linked ? this.#dictLen : 0);
      if (produced === -2) {
        throw new Lz4MalformedError(`LZ4 block decodes to more than the frame's block size of ${this.#blockMax}`);
      }
      if (produced < 0) throwLz4Error(produced, this.#blockMax);
    }
    if (this.#wantXxh64 && this.#produced === 0 && produced === this.#contentSize) {
      // the whole content in one block: its hashes in one pass over the output arena
      if (this.#xxh) {
        const both = xxh32And64At(core.outPtr, produced, core);
        this.#wholeXxh32 = both.xxh32;
        this.#contentXxh64 = both.xxh64;
      } else this.#contentXxh64 = xxh64At(core.outPtr, produced, 0n, core);
    } else {
      this.#xxh?.updateFromMemory(core.outPtr, produced);
      this.#contentXxh64 = undefined;
    }
    this.#produced += produced;
    // the window is updated before the sink runs, so the sink may use the core freely
    if (this.#linked) this.#dictLen = ex.lz4SlideWindow(core.outPtr, produced, this.#dictLen, LZ4_WINDOW);
    sink(core.output().subarray(0, produced));
  }

  #checkBlock(unit: Uint8Array, actual: number): void {
    const expected = le32(unit, this.#blockLen);
    if (expected !== actual) throw new Lz4ChecksumError('block', expected, actual);
  }

  #endFrame(): void {
    if (this.#contentSize !== undefined && this.#contentSize !== this.#produced) {
      throw new Lz4FrameError(`LZ4 frame declares ${this.#contentSize} content bytes but holds ${this.#produced}`);
    }
    this.#xxh?.dispose();
    this.#xxh = undefined;
    releaseSlot(this.#core, this.#core.windowPtr, this);
    this.#dictLen = 0;
    this.#frames++;
    this.#expect('magic', 4);
  }
}

// ---- one-shot ---------------------------------------------------------------------------------------------------

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Compresses `data` into one standard LZ4 frame (decodable by `lz4 -d`). */
export function lz4FrameCompress(
  data: Uint8Array,
  options?: Lz4FrameOptions,
  core: CoreInstance = loadCore(),
): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const sink = (b: Uint8Array) => {
    parts.push(b.slice());
    total += b.length;
  };
  const enc = new Lz4FrameEncoder(options, core);
  enc.write(data, sink);
  enc.end(sink);
  return concat(parts, total);
}

export interface Lz4FrameDecompressOptions {
  /**
   * The most bytes the content may decode to (default 64 MiB): LZ4 expands up to 255 times, so a small hostile
   * input must not make this allocate gigabytes. Larger content throws Lz4OutputTooSmallError.
   */
  maxOutputBytes?: number | undefined;
}

/** The default output cap of lz4FrameDecompress, the stream format's largest chunk. */
export const LZ4_DECOMPRESS_DEFAULT_MAX = 64 << 20;

/** Decodes all frames in `input` (LZ4 frames, skippable frames) and returns the concatenated content. */
export function lz4FrameDecompress(
  input: Uint8Array,
  options: Lz4FrameDecompressOptions = {},
  core: CoreInstance = loadCore(),
): Uint8Array {
  const max = options.maxOutputBytes ?? LZ4_DECOMPRESS_DEFAULT_MAX;
  let out = new Uint8Array(Math.min(max, Math.max(1024, input.length * 2)));
  let len = 0;
  const dec = new Lz4FrameDecoder(core);
  dec.write(input, (b) => {
    if (len + b.length > max) {
      throw new Lz4OutputTooSmallError(`the LZ4 content exceeds the output cap of ${max} bytes (maxOutputBytes)`);
    }
    if (len + b.length > out.length) {
      const grown = new Uint8Array(Math.min(max, Math.max(len + b.length, out.length * 2)));
      grown.set(out.subarray(0, len));
      out = grown;
    }
    out.set(b, len);
    len += b.length;
  });
  dec.end();
  if (dec.frames === 0) throw new Lz4FrameError('input holds no LZ4 frame');
  return out.subarray(0, len);
}
