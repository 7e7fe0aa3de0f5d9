// zstd frames (RFC 8878) built and read by hand where no compressor is needed: stored chunks as raw blocks, zero
// chunks as RLE blocks, and the structural walk that checks any frame's extent, content size and checksum field
// before a decompressor sees it.
import { StreamCorruptError } from '../errors.ts';
import { ZSTD_BLOCK_MAX, ZSTD_MAGIC } from './format-constants.ts';
import { view } from './little-endian.ts';

const BLOCK_RAW = 0;
const BLOCK_RLE = 1;
const BLOCK_COMPRESSED = 2;
/** Frame_Header_Descriptor of our frames: 4-byte Frame_Content_Size, Single_Segment, Content_Checksum. */
const FHD_OURS = (2 << 6) | (1 << 5) | (1 << 2);
const FRAME_HEADER_SIZE = 9;

function writeFrameHeader(dv: DataView, at: number, contentSize: number): number {
  dv.setUint32(at, ZSTD_MAGIC, true);
  dv.setUint8(at + 4, FHD_OURS);
  dv.setUint32(at + 5, contentSize, true);
  return at + FRAME_HEADER_SIZE;
}

function writeBlockHeader(dv: DataView, at: number, last: boolean, type: number, size: number): void {
  const v = (last ? 1 : 0) | (type << 1) | (size << 3);
  dv.setUint16(at, v & 0xffff, true);
  dv.setUint8(at + 2, v >>> 16);
}

/**
 * Writes a frame of raw blocks (or, with `zero`, RLE blocks of byte 0) for `data` into `out` at `at`; returns the
 * end. `hash` is XXH64(data), whose low 32 bits are the frame's Content_Checksum.
 */
export function writeStoredZstdFrame(
  data: Uint8Array,
  zero: boolean,
  hash: bigint,
  out: Uint8Array,
  at: number,
): number {
  const dv = view(out);
  let p = writeFrameHeader(dv, at, data.length);
  const n = data.length;
  for (let off = 0; off < n || off === 0; off += ZSTD_BLOCK_MAX) {
    const size = Math.min(ZSTD_BLOCK_MAX, n - off);
    const last = off + size >= n;
    writeBlockHeader(dv, p, last, zero ? BLOCK_RLE : BLOCK_RAW, size);
    p += 3;
    if (zero) out[p++] = 0;
    else {
      out.set(data.subarray(off, off + size), p);
      p += size;
    }
    if (last) break;
  }
  dv.setUint32(p, Number(hash & 0xffffffffn), true);
  return p + 4;
}

export interface ZstdFrameLayout {
  /** Frame_Content_Size, or null when the frame does not declare it. */
  contentSize: number | null;
  /** Content_Checksum field, or null when absent. */
  checksum: number | null;
  windowSize: number;
  /** Offset of the first block header. */
  blocksStart: number;
  /** Offset just past the last block (where the checksum, if any, starts). */
  blocksEnd: number;
  /** Only raw and RLE blocks: decodable without a decompressor. */
  storedOnly: boolean;
  /** Only RLE blocks of byte 0. */
  zeroOnly: boolean;
  /** Sum of the regenerated sizes of raw and RLE blocks (compressed blocks unknown until decoded). */
  storedBytes: number;
  /** Offset just past the frame. */
  end: number;
}

/**
 * Walks one zstd frame that must occupy all of `frame`. `base` is its stream offset (for errors). Checks the
 * header fields, every block header and the total extent; throws StreamCorruptError naming the offset.
 */
export function readZstdLayout(frame: Uint8Array, base: number, exact = true): ZstdFrameLayout {
  const bad = (what: string, at: number) => new StreamCorruptError(`zstd data frame: ${what}`, base + at);
  if (frame.length < 6) throw bad('too short', 0);
  const dv = view(frame);
  if (dv.getUint32(0, true) !== ZSTD_MAGIC) throw bad('bad magic number', 0);
  const fhd = frame[4]!;
  if (fhd & 0x08) throw bad('reserved bit set in the frame header descriptor', 4);
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const hasChecksum = (fhd >> 2) & 1;
  const dictFlag = fhd & 3;
  let p = 5;
  let windowSize = 0;
  if (!singleSegment) {
    const wd = frame[p++]!;
    const windowLog = 10 + (wd >> 3);
    const base2 = 2 ** windowLog;
    windowSize = base2 + (base2 / 8) * (wd & 7);
  }
  const dictSize = [0, 1, 2, 4][dictFlag]!;
  if (p + dictSize > frame.length) throw bad('header runs past the frame', p);
  for (let i = 0; i < dictSize; i++) {
    if (frame[p + i] !== 0) throw bad('frame needs a dictionary', p);
  }
  p += dictSize;
  const fcsSize = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag]!;
  if (p + fcsSize > frame.length) throw bad('header runs past the frame', p);
  let contentSize: number | null = null;
  if (fcsSize === 1) contentSize = frame[p]!;
  else if (fcsSize === 2) contentSize = dv.getUint16(p, true) + 256;
  else if (fcsSize === 4) contentSize = dv.getUint32(p, true);
  else if (fcsSize === 8) {
    const v = dv.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('content size out of range', p);
    contentSize = Number(v);
  }
  p += fcsSize;
  if (singleSegment) windowSize = contentSize ?? 0;
  const blockMax = Math.min(ZSTD_BLOCK_MAX, Math.max(windowSize, 1));
  const blocksStart = p;
  let storedOnly = true;
  let zeroOnly = true;
  let storedBytes = 0;
  for (;;) {
    if (p + 3 > frame.length) throw bad('block header runs past the frame', p);
    const h = frame[p]! | (frame[p + 1]! << 8) | (frame[p + 2]! << 16);
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) throw bad('reserved block type', p);
    if (size > blockMax) throw bad(`block of ${size} bytes exceeds the maximum of ${blockMax}`, p);
    p += 3;
    const payload = type === BLOCK_RLE ? 1 : size;
    if (p + payload > frame.length) throw bad('block runs past the frame', p);
    if (type === BLOCK_COMPRESSED) {
      storedOnly = false;
      zeroOnly = false;
    } else {
      storedBytes += size;
      if (type === BLOCK_RAW || frame[p] !== 0) zeroOnly = false;
    }
    p += payload;
    if (last) break;
  }
  const blocksEnd = p;
  let checksum: number | null = null;
  if (hasChecksum) {
    if (p + 4 > frame.length) throw bad('content checksum runs past the frame', p);
    checksum = dv.getUint32(p, true);
    p += 4;
  }
  if (exact && p !== frame.length) throw bad(`frame ends at byte ${p} of ${frame.length} declared`, p);
  return { contentSize, checksum, windowSize, blocksStart, blocksEnd, storedOnly, zeroOnly, storedBytes, end: p };
}

/** Decodes a frame of raw and RLE blocks only (layout.storedOnly) into `out` (exactly its content size). */
export function decodeStoredZstd(frame: Uint8Array, layout: ZstdFrameLayout, out: Uint8Array): void {
  let p = layout.blocksStart;
  let o = 0;
  while (p < layout.blocksEnd) {
    const h = frame[p]! | (frame[p + 1]! << 8) | (frame[p + 2]! << 16);
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    p += 3;
    if (type === BLOCK_RLE) {
      out.fill(frame[p]!, o, o + size);
      p += 1;
    } else {
      out.set(frame.subarray(p, p + size), o);
      p += size;
    }
    o += size;
  }
}

/**
 * Returns `frame` with a 4-byte Frame_Content_Size and a Content_Checksum (XXH64 low 32 bits of the content), adding
 * whichever the compressor left out (streaming compressors omit the size; zstd-codec omits the checksum). Stock
 * tools then check these frames too, and a reader can bound the output before decoding.
 */
export function completeZstdFrame(frame: Uint8Array, contentSize: number, hash: bigint): Uint8Array {
  const layout = readZstdLayout(frame, 0, false);
  // some streaming compressors (Deno's node:zlib) end with an extra empty frame: drop it, it holds no content
  for (let p = layout.end; p < frame.length; ) {
    const extra = readZstdLayout(frame.subarray(p), 0, false);
    if (!extra.storedOnly || extra.storedBytes !== 0) {
      throw new StreamCorruptError('the zstd compressor produced more than one frame with content', p);
    }
    p += extra.end;
  }
  if (layout.end < frame.length) frame = frame.subarray(0, layout.end);
  if (layout.contentSize !== null && layout.checksum !== null) return frame;
  const fhd = frame[4]!;
  const singleSegment = (fhd >> 5) & 1;
  const dictSize = [0, 1, 2, 4][fhd & 3]!;
  const fixedEnd = 5 + (singleSegment ? 0 : 1) + dictSize;
  const fcsSize = layout.contentSize === null ? 4 : layout.blocksStart - fixedEnd;
  const blocks = frame.subarray(layout.blocksStart, layout.blocksEnd);
  const out = new Uint8Array(fixedEnd + fcsSize + blocks.length + 4);
  out.set(frame.subarray(0, fixedEnd));
  const dv = view(out);
  if (layout.contentSize === null) {
    out[4] = (fhd & 0x3f) | (2 << 6) | (1 << 2);
    dv.setUint32(fixedEnd, contentSize, true);
  } else {
    out[4] = fhd | (1 << 2);
    out.set(frame.subarray(fixedEnd, layout.blocksStart), fixedEnd);
  }
  out.set(blocks, fixedEnd + fcsSize);
  dv.setUint32(out.length - 4, Number(hash & 0xffffffffn), true);
  return out;
}
