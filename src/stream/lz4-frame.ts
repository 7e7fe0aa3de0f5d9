// LZ4 frames (the lz4 frame format v1.6) around the core's block codec: independent blocks, the content size in the
// header, stored blocks where compression does not pay, an optional XXH32 content checksum. The reader also takes
// frames from the stock `lz4` tool (linked blocks, block checksums, no content size) within the caller's bound.
import { loadCore, lz4CompressBlockInto, lz4CompressInArena, lz4DecompressBlockInto, xxh32 } from '../core/index.ts';
import { StreamCorruptError } from '../errors.ts';
import { LZ4_MAGIC } from './format-constants.ts';
import { LZ4_FRAME_BLOCK_MAX } from './frame-bounds.ts';
import { view } from './little-endian.ts';

const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
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
 * descriptor declared, already checked against the limits). `base` is the frame's stream offset for errors.
 * Verifies the header checksum, the declared content size, block sizes, block and content checksums.
 */
export function decodeLz4Frame(frame: Uint8Array, rawLength: number, base: number): Uint8Array {
  const bad = (what: string, at: number, cause?: unknown) =>
    new StreamCorruptError(`lz4 data frame: ${what}`, base + at, cause === undefined ? undefined : { cause });
  if (frame.length < 7) throw bad('too short', 0);
  const dv = view(frame);
  if (dv.getUint32(0, true) !== LZ4_MAGIC) throw bad('bad magic number', 0);
  const flg = frame[4]!;
  const bd = frame[5]!;
  if ((flg & 0xc0) !== FLG_VERSION) throw bad('unsupported frame version', 4);
  if (flg & 0x02 || bd & 0x8f) throw bad('reserved bits set in the frame descriptor', 4);
  if (flg & FLG_DICT_ID) throw bad('frame needs a dictionary', 4);
  const blockMax = BLOCK_SIZES[(bd >> 4) & 7];
  if (blockMax === undefined) throw bad('invalid block maximum size', 5);
  let p = 6;
  if (flg & FLG_CONTENT_SIZE) {
    if (frame.length < p + 9) throw bad('header runs past the frame', p);
    const size = dv.getBigUint64(p, true);
    if (size !== BigInt(rawLength)) throw bad(`content size ${size} differs from the descriptor's ${rawLength}`, p);
    p += 8;
  }
  if (p >= frame.length) throw bad('header runs past the frame', p);
  if (frame[p] !== ((xxh32(frame.subarray(4, p)) >>> 8) & 0xff)) throw bad('header checksum mismatch', p);
  p++;
  const independent = (flg & FLG_BLOCK_INDEPENDENT) !== 0;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  const out = new Uint8Array(rawLength);
  let o = 0;
  for (;;) {
    if (p + 4 > frame.length) throw bad('block header runs past the frame', p);
    const word = dv.getUint32(p, true);
    if (word === 0) {
      p += 4;
      break;
    }
    const size = word & ~STORED_BIT & 0x7fffffff;
    const isStored = (word & STORED_BIT) !== 0;
    if (size > blockMax) throw bad(`block of ${size} bytes exceeds the maximum of ${blockMax}`, p);
    const dataStart = p + 4;
    if (dataStart + size + (blockChecksum ? 4 : 0) > frame.length) throw bad('block runs past the frame', p);
    const block = frame.subarray(dataStart, dataStart + size);
    if (blockChecksum && dv.getUint32(dataStart + size, true) !== xxh32(block)) {
      throw bad('block checksum mismatch', dataStart + size);
    }
    const room = Math.min(blockMax, rawLength - o);
    if (isStored) {
      if (size > room) throw bad('stored block runs past the declared content size', p);
      out.set(block, o);
      o += size;
    } else {
      if (room === 0) throw bad('block runs past the declared content size', p);
      const dict = independent ? undefined : out.subarray(Math.max(0, o - (64 << 10)), o);
      try {
        o += lz4DecompressBlockInto(block, out.subarray(o, o + room), dict ? { dict } : undefined);
      } catch (cause) {
        throw bad('malformed or oversized compressed block', p, cause);
      }
    }
    p = dataStart + size + (blockChecksum ? 4 : 0);
  }
  if (o !== rawLength) throw bad(`frame decodes to ${o} bytes, not the declared ${rawLength}`, p);
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (p + 4 > frame.length) throw bad('content checksum runs past the frame', p);
    if (dv.getUint32(p, true) !== xxh32(out)) throw bad('content checksum mismatch', p);
    p += 4;
  }
  if (p !== frame.length) throw bad(`frame ends at byte ${p} of ${frame.length} declared`, p);
  return out;
}
