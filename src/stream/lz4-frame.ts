// LZ4 data frames of a stream chunk (the lz4 frame format v1.6). The writer builds them straight into the chunk's
// output around the core's block codec (independent blocks, the content size in the header, stored blocks where
// compression does not pay, a hand-built block for zero chunks, an optional XXH32 content checksum); the reader is
// the core's frame decoder, which also takes what the stock `lz4` tool writes (linked blocks, block checksums).
import { Lz4FrameDecoder, loadCore, lz4CompressBlockInto, lz4CompressInArena, xxh32 } from '../core/index.ts';
import { StreamCorruptError } from '../errors.ts';
import { LZ4_MAGIC } from './format-constants.ts';
import { LZ4_FRAME_BLOCK_MAX } from './frame-bounds.ts';
import { view } from './little-endian.ts';

const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const STORED_BIT = 0x80000000;
const BLOCK_SIZES: Readonly<Record<number, number>> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
const MIN_MATCH = 4;

/** The smallest block-maximum id whose size holds `n` (capped at 4 MiB): stock readers allocate by it. */
function blockSizeId(n: number): number {
  for (const id of [4, 5, 6, 7]) if (n <= BLOCK_SIZES[id]!) return id;
  return 7;
}

function writeHeader(out: Uint8Array, at: number, n: number, contentChecksum: boolean): number {
  const dv = view(out);
  dv.setUint32(at, LZ4_MAGIC, true);
  out[at + 4] = FLG_VERSION | FLG_BLOCK_INDEPENDENT | FLG_CONTENT_SIZE | (contentChecksum ? FLG_CONTENT_CHECKSUM : 0);
  out[at + 5] = blockSizeId(n) << 4;
  dv.setUint32(at + 6, n % 0x1_0000_0000, true);
  dv.setUint32(at + 10, Math.floor(n / 0x1_0000_0000), true);
  out[at + 14] = (xxh32(out.subarray(at + 4, at + 14)) >>> 8) & 0xff;
  return at + 15;
}

/**
 * One LZ4 block of `len` zero bytes written directly (no compressor): a zero literal, then one match at distance 1
 * covering all but the last five bytes, then five literal zeros, as the block rules require (the last match starts
 * at least 12 bytes before the end; the last 5 bytes are literals). Shorter blocks are stored.
 */
function writeZeroBlock(out: Uint8Array, at: number, len: number): number {
  const dv = view(out);
  if (len < 13) {
    dv.setUint32(at, (STORED_BIT | len) >>> 0, true);
    out.fill(0, at + 4, at + 4 + len);
    return at + 4 + len;
  }
  let p = at + 4;
  const extra = len - 1 - 5 - MIN_MATCH;
  out[p++] = 0x10 | Math.min(extra, 15);
  out[p++] = 0; // the literal
  out[p++] = 1; // offset 1, little-endian
  out[p++] = 0;
  if (extra >= 15) {
    let rest = extra - 15;
    while (rest >= 255) {
      out[p++] = 255;
      rest -= 255;
    }
    out[p++] = rest;
  }
  out[p++] = 0x50; // five literals, no match
  out.fill(0, p, p + 5);
  p += 5;
  dv.setUint32(at, p - at - 4, true);
  return p;
}

export interface Lz4EncodeInput {
  /** The chunk (ignored when zero). */
  data: Uint8Array;
  length: number;
  zero: boolean;
  /** XXH32 of data (only read when contentChecksum). */
  xxh32: number;
  contentChecksum: boolean;
  /** The data is already in the core's IN arena and is a single block: compress it there, without a copy. */
  inArena?: boolean;
}

/** Writes the frame for `input` into `out` at `at`; returns the end and whether every block was stored. */
export function writeLz4Frame(input: Lz4EncodeInput, out: Uint8Array, at: number): { end: number; stored: boolean } {
  const { data, zero } = input;
  const n = input.length;
  // compress an in-arena chunk before the header checksum reuses the arena
  const arenaCompressed = input.inArena && !zero && n <= LZ4_FRAME_BLOCK_MAX && n > 1 ? lz4CompressInArena(n) : 0;
  let p = writeHeader(out, at, n, input.contentChecksum);
  const dv = view(out);
  let stored = !zero;
  for (let off = 0; off < n; off += LZ4_FRAME_BLOCK_MAX) {
    const len = Math.min(LZ4_FRAME_BLOCK_MAX, n - off);
    if (zero) {
      p = writeZeroBlock(out, p, len);
      continue;
    }
    const block = data.subarray(off, off + len);
    let c: number;
    if (input.inArena && off === 0 && len === n) {
      c = arenaCompressed > 0 && arenaCompressed < len ? arenaCompressed : 0;
      if (c > 0) out.set(loadCore().output().subarray(0, c), p + 4);
    } else {
      // room for one byte less than the input: a block that does not shrink is stored instead
      c = len > 1 ? lz4CompressBlockInto(block, out.subarray(p + 4, p + 4 + len - 1)) : 0;
    }
    if (c > 0) {
      dv.setUint32(p, c, true);
      p += 4 + c;
      stored = false;
    } else {
      dv.setUint32(p, (STORED_BIT | len) >>> 0, true);
      out.set(block, p + 4);
      p += 4 + len;
    }
  }
  dv.setUint32(p, 0, true);
  p += 4;
  if (input.contentChecksum) {
    dv.setUint32(p, input.xxh32 >>> 0, true);
    p += 4;
  }
  return { end: p, stored };
}

/** A standalone LZ4 frame of `n` zero bytes (cacheable: it depends on n only). */
export function zeroLz4Frame(n: number, zeroXxh32: number, contentChecksum: boolean): Uint8Array {
  const scratch = new Uint8Array(64 + n / 200 + 16 * Math.ceil(n / LZ4_FRAME_BLOCK_MAX));
  const { end } = writeLz4Frame(
    { data: new Uint8Array(0), length: n, zero: true, xxh32: zeroXxh32, contentChecksum },
    scratch,
    0,
  );
  return scratch.slice(0, end);
}

/**
 * Decodes one LZ4 frame occupying all of `frame` into a new array of exactly `rawLength` bytes (the size the
 * descriptor declared, already checked against the limits). `base` is the frame's stream offset for errors. The
 * core's frame decoder verifies the header, block sizes and checksums and the content size and checksum; this adds
 * what a stream chunk needs: exactly one LZ4 frame, never more output than declared (a bomb stops at the first block
 * past it), and exactly the declared length.
 */
export function decodeLz4Frame(
  frame: Uint8Array,
  rawLength: number,
  base: number,
  into?: Uint8Array,
): { out: Uint8Array; xxh64: bigint | undefined } {
  const bad = (what: string, cause?: unknown) =>
    new StreamCorruptError(`lz4 data frame: ${what}`, base, cause === undefined ? undefined : { cause });
  if (frame.length < 4 || view(frame).getUint32(0, true) !== LZ4_MAGIC) throw bad('bad magic number');
  const out = into ? into.subarray(0, rawLength) : new Uint8Array(rawLength);
  let o = 0;
  let overflow = false;
  // a chunk's frame is usually one block: its XXH64 is then taken in the output arena, with the content checksum
  const decoder = new Lz4FrameDecoder(loadCore(), { contentXxh64: true });
  try {
    decoder.write(frame, (piece) => {
      if (decoder.frames > 0 || o + piece.length > rawLength) {
        overflow = true;
        throw bad(`decodes past the declared ${rawLength} bytes`);
      }
      out.set(piece, o);
      o += piece.length;
    });
    decoder.end();
  } catch (cause) {
    if (overflow) throw cause;
    throw bad((cause as Error).message, cause);
  }
  if (decoder.frames !== 1) throw bad(`holds ${decoder.frames} LZ4 frames, not one`);
  if (o !== rawLength) throw bad(`decodes to ${o} bytes, not the declared ${rawLength}`);
  return { out, xxh64: decoder.contentXxh64 };
}
