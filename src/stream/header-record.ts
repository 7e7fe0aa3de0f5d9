// The header record: format version, stream id, codec, chunking, limits, device identity. First frame of a stream.
import { StreamCorruptError, StreamLimitError, StreamVersionError, UsageError } from '../errors.ts';
import {
  CHUNKING_BY_ID,
  CHUNKING_IDS,
  CODEC_BY_ID,
  CODEC_IDS,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_LIMITS,
  DEFAULT_ZSTD_LEVEL,
  ENVELOPE_SIZE,
  FORMAT_VERSION,
  HEADER_FIXED_SIZE,
  HEADER_FLAG_LZ4_CONTENT_CHECKSUM,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  RECORD_MAGIC,
  TAG_HEADER,
  UNKNOWN_U64,
} from './format-constants.ts';
import { dataFrameBound } from './frame-bounds.ts';
import { getU64, hex, setU64 } from './little-endian.ts';
import { buildRecord, checkRecord } from './record-envelope.ts';
import type { Chunking, Codec, StreamHeader, StreamHeaderInit, StreamLimits } from './stream-types.ts';

function checkChunking(c: Chunking): void {
  const ok = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_CHUNK_SIZE;
  if (!ok(c.size) || !ok(c.min) || !ok(c.max) || c.min > c.size || c.size > c.max) {
    throw new UsageError(
      `chunking ${JSON.stringify(c)}: sizes must satisfy 1 <= min <= size <= max <= ${MAX_CHUNK_SIZE} bytes`,
    );
  }
  if (c.mode === 'fixed' && (c.min !== c.size || c.max !== c.size)) {
    throw new UsageError('fixed chunking has min = size = max');
  }
  if (c.size < MIN_CHUNK_SIZE && c.mode === 'cdc') {
    throw new UsageError(`CDC average chunk size must be at least ${MIN_CHUNK_SIZE} bytes`);
  }
}

/** Fixed chunking of `size` bytes (default 1 MiB). */
export function fixedChunking(size = DEFAULT_CHUNK_SIZE): Chunking {
  return { mode: 'fixed', size, min: size, max: size };
}

/** Completes and validates a header: stream id, level, limits. */
export function createStreamHeader(init: StreamHeaderInit): StreamHeader {
  const codec: Codec = init.codec;
  if (!(codec in CODEC_IDS)) throw new UsageError(`unknown codec ${JSON.stringify(codec)}: expected lz4, zstd or none`);
  checkChunking(init.chunking);
  let level = init.level ?? (codec === 'zstd' ? DEFAULT_ZSTD_LEVEL : codec === 'lz4' ? 1 : 0);
  if (codec === 'none') level = 0;
  if (!Number.isInteger(level) || level < (codec === 'zstd' ? -7 : 0) || level > (codec === 'zstd' ? 22 : 12)) {
    throw new UsageError(`level ${level} is out of range for ${codec} (zstd: -7..22, lz4: 1..12)`);
  }
  const streamId = init.streamId ?? crypto.getRandomValues(new Uint8Array(16));
  if (streamId.length !== 16) throw new UsageError('a stream id is 16 bytes');
  const expected = init.expectedBytes;
  if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new UsageError(`expected size ${expected} is not a byte count`);
  }
  const flags = init.migrationFlags ?? 0;
  if (!(Number.isInteger(flags) && flags >= 0 && flags <= 0xffffffff)) throw new UsageError('bad migration flags');
  const maxChunkSize = init.chunking.max;
  return {
    version: { ...FORMAT_VERSION },
    streamId: new Uint8Array(streamId),
    codec,
    level,
    chunking: { ...init.chunking },
    migrationFlags: flags,
    device: init.device ?? {},
    expectedBytes: expected ?? null,
    lz4ContentChecksum: init.lz4ContentChecksum ?? true,
    maxChunkSize,
    maxFrameSize: dataFrameBound(codec, maxChunkSize),
    createdAt: init.createdAt ?? Date.now(),
  };
}

function metadataJson(device: Record<string, unknown>): Uint8Array {
  const text = JSON.stringify(device, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  return new TextEncoder().encode(text);
}

/** The header record frame. */
export function encodeHeader(header: StreamHeader): Uint8Array {
  const meta = metadataJson(header.device);
  if (meta.length > DEFAULT_LIMITS.maxMetadataBytes) {
    throw new UsageError(`device metadata of ${meta.length} bytes exceeds ${DEFAULT_LIMITS.maxMetadataBytes}`);
  }
  return buildRecord(HEADER_FIXED_SIZE + meta.length + 4, undefined, (dv, payload) => {
    dv.setUint32(0, TAG_HEADER, true);
    dv.setUint16(4, header.version.major, true);
    dv.setUint16(6, header.version.minor, true);
    payload.set(header.streamId, 8);
    dv.setUint8(24, CODEC_IDS[header.codec]);
    dv.setInt8(25, header.level);
    dv.setUint8(26, CHUNKING_IDS[header.chunking.mode]);
    dv.setUint8(27, header.lz4ContentChecksum ? HEADER_FLAG_LZ4_CONTENT_CHECKSUM : 0);
    dv.setUint32(28, header.migrationFlags >>> 0, true);
    dv.setUint32(32, header.chunking.size, true);
    dv.setUint32(36, header.chunking.min, true);
    dv.setUint32(40, header.chunking.max, true);
    dv.setUint32(44, header.maxChunkSize, true);
    dv.setUint32(48, header.maxFrameSize, true);
    if (header.expectedBytes === null) dv.setBigUint64(52, UNKNOWN_U64, true);
    else setU64(dv, 52, header.expectedBytes);
    setU64(dv, 60, header.createdAt);
    dv.setUint32(68, meta.length, true);
    payload.set(meta, HEADER_FIXED_SIZE);
  });
}

/**
 * Reads a header payload (`offset` = the frame's stream offset). The CRC is checked before the version: the last
 * four payload bytes are a CRC32C of the rest in every version, so damage is never mistaken for a newer format.
 */
export function decodeHeader(payload: Uint8Array, offset: number, limits?: StreamLimits): StreamHeader {
  if (payload.length < HEADER_FIXED_SIZE + 4) throw new StreamCorruptError('header record is too short', offset);
  const dv = checkRecord(payload, undefined, 'header', offset);
  const major = dv.getUint16(4, true);
  const minor = dv.getUint16(6, true);
  if (major !== FORMAT_VERSION.major) {
    if (major > FORMAT_VERSION.major) throw new StreamVersionError(major, minor, FORMAT_VERSION.major, offset);
    throw new StreamCorruptError(`stream format major version ${major} does not exist`, offset);
  }
  const bad = (what: string) => new StreamCorruptError(`header: ${what}`, offset + ENVELOPE_SIZE);
  const codec = CODEC_BY_ID[dv.getUint8(24)];
  if (!codec) throw bad(`unknown codec id ${dv.getUint8(24)}`);
  const mode = CHUNKING_BY_ID[dv.getUint8(26)];
  if (!mode) throw bad(`unknown chunking id ${dv.getUint8(26)}`);
  const chunking: Chunking = {
    mode,
    size: dv.getUint32(32, true),
    min: dv.getUint32(36, true),
    max: dv.getUint32(40, true),
  };
  const maxChunkSize = dv.getUint32(44, true);
  const maxFrameSize = dv.getUint32(48, true);
  const limit = limits?.maxChunkSize ?? DEFAULT_LIMITS.maxChunkSize;
  if (maxChunkSize > limit) {
    throw new StreamLimitError(
      `header declares chunks of up to ${maxChunkSize} bytes; this reader allows ${limit}`,
      offset,
    );
  }
  if (
    maxChunkSize === 0 ||
    chunking.max > maxChunkSize ||
    chunking.min > chunking.size ||
    chunking.size > chunking.max
  ) {
    throw bad('inconsistent chunk sizes');
  }
  if (maxFrameSize > dataFrameBound(codec, maxChunkSize)) throw bad('maximum frame size exceeds its bound');
  const metaLength = dv.getUint32(68, true);
  const metaLimit = limits?.maxMetadataBytes ?? DEFAULT_LIMITS.maxMetadataBytes;
  if (metaLength > metaLimit) {
    throw new StreamLimitError(`header metadata of ${metaLength} bytes exceeds the limit of ${metaLimit}`, offset);
  }
  // newer minor versions may append fields between the metadata and the CRC; this reader skips them
  if (HEADER_FIXED_SIZE + metaLength + 4 > payload.length) throw bad('metadata runs past the record');
  let device: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(
        payload.subarray(HEADER_FIXED_SIZE, HEADER_FIXED_SIZE + metaLength),
      ),
    );
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    device = parsed as Record<string, unknown>;
  } catch (cause) {
    throw new StreamCorruptError(`header metadata is not a JSON object: ${(cause as Error).message}`, offset);
  }
  const expectedBytes = dv.getBigUint64(52, true) === UNKNOWN_U64 ? null : getU64(dv, 52);
  if (expectedBytes === undefined) throw bad('expected size out of range');
  const createdAt = getU64(dv, 60);
  if (createdAt === undefined) throw bad('creation time out of range');
  return {
    version: { major, minor },
    streamId: payload.slice(8, 24),
    codec,
    level: dv.getInt8(25),
    chunking,
    migrationFlags: dv.getUint32(28, true),
    device,
    expectedBytes,
    lz4ContentChecksum: (dv.getUint8(27) & HEADER_FLAG_LZ4_CONTENT_CHECKSUM) !== 0,
    maxChunkSize,
    maxFrameSize,
    createdAt,
  };
}

/** Bytes a stream starts with that identify it: the record envelope and the header's tag. */
export const STREAM_START_BYTES = ENVELOPE_SIZE + 4;

/**
 * Why `start` (the first bytes of a connection or file, up to STREAM_START_BYTES) is not the start of a vfio-migrate
 * stream, or null when it is, or could still be (fewer bytes that agree so far). Lets a listener turn away a stray
 * client before it is taken for the one peer.
 */
export function streamStartProblem(start: Uint8Array): string | null {
  // the bytes a stream must start with: the record magic, any size, the header's tag
  const want = new Uint8Array(STREAM_START_BYTES);
  const dv = new DataView(want.buffer);
  dv.setUint32(0, RECORD_MAGIC, true);
  dv.setUint32(ENVELOPE_SIZE, TAG_HEADER, true);
  const differs = (i: number) => (i < 4 || i >= ENVELOPE_SIZE) && start[i] !== want[i];
  let bad = false;
  for (let i = 0; i < Math.min(start.length, STREAM_START_BYTES); i++) if (differs(i)) bad = true;
  if (bad) {
    const printable = /^[\x20-\x7e]{4}/.test(new TextDecoder().decode(start.subarray(0, 4)));
    return `not a vfio-migrate stream (it starts with ${printable ? JSON.stringify(new TextDecoder().decode(start.subarray(0, 8))) : `0x${hex(start.subarray(0, 4))}`})`;
  }
  return null;
}
