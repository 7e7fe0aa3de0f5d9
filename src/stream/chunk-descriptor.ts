// Chunk descriptors: the skippable frame before each data frame. It names the chunk's place (seq, raw offset),
// sizes (checked against limits before anything is decoded) and the XXH64 of its raw bytes.
import { StreamCorruptError } from '../errors.ts';
import {
  CHUNK_FLAG_STORED,
  CHUNK_FLAG_ZERO,
  CHUNK_PAYLOAD_SIZE,
  ENVELOPE_SIZE,
  TAG_CHUNK,
} from './format-constants.ts';
import { getU64, setU64 } from './little-endian.ts';
import { buildRecord, checkRecord } from './record-envelope.ts';
import type { ChunkDescriptor } from './stream-types.ts';

export const DESCRIPTOR_FRAME_SIZE = ENVELOPE_SIZE + CHUNK_PAYLOAD_SIZE;

export function encodeDescriptor(streamId: Uint8Array, d: ChunkDescriptor): Uint8Array {
  return buildRecord(CHUNK_PAYLOAD_SIZE, streamId, (dv) => {
    dv.setUint32(0, TAG_CHUNK, true);
    setU64(dv, 4, d.seq);
    setU64(dv, 12, d.rawOffset);
    dv.setUint32(20, d.rawLength, true);
    dv.setUint32(24, d.encodedLength, true);
    dv.setBigUint64(28, d.rawHash, true);
    dv.setUint8(36, (d.zero ? CHUNK_FLAG_ZERO : 0) | (d.stored ? CHUNK_FLAG_STORED : 0));
  });
}

export function decodeDescriptor(payload: Uint8Array, streamId: Uint8Array, offset: number): ChunkDescriptor {
  if (payload.length < CHUNK_PAYLOAD_SIZE) throw new StreamCorruptError('chunk descriptor is too short', offset);
  const dv = checkRecord(payload, streamId, 'chunk descriptor', offset);
  const seq = getU64(dv, 4);
  const rawOffset = getU64(dv, 12);
  const flags = dv.getUint8(36);
  if (seq === undefined || rawOffset === undefined || (flags & ~(CHUNK_FLAG_ZERO | CHUNK_FLAG_STORED)) !== 0) {
    throw new StreamCorruptError('chunk descriptor has out-of-range fields', offset + ENVELOPE_SIZE);
  }
  return {
    seq,
    rawOffset,
    rawLength: dv.getUint32(20, true),
    encodedLength: dv.getUint32(24, true),
    rawHash: dv.getBigUint64(28, true),
    zero: (flags & CHUNK_FLAG_ZERO) !== 0,
    stored: (flags & CHUNK_FLAG_STORED) !== 0,
  };
}
