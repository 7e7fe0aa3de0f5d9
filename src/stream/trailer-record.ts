// The trailer: totals and the stream digest, and the stream id that ties it to its header.
import { StreamCorruptError } from '../errors.ts';
import { ENVELOPE_SIZE, TAG_TRAILER, TRAILER_PAYLOAD_SIZE } from './format-constants.ts';
import { getU64, setU64 } from './little-endian.ts';
import { buildRecord, checkRecord } from './record-envelope.ts';
import type { StreamTrailer } from './stream-types.ts';

// The trailer's CRC is not keyed: a trailer from another stream is intact, and is reported as such by its id.
export function encodeTrailer(t: StreamTrailer): Uint8Array {
  return buildRecord(TRAILER_PAYLOAD_SIZE, undefined, (dv, payload) => {
    dv.setUint32(0, TAG_TRAILER, true);
    payload.set(t.streamId, 4);
    setU64(dv, 20, t.rawBytes);
    setU64(dv, 28, t.chunkCount);
    setU64(dv, 36, t.zeroChunks);
    setU64(dv, 44, t.storedChunks);
    dv.setUint32(52, t.sectionCount, true);
    setU64(dv, 56, t.encodedBytes);
    dv.setBigUint64(64, t.digest, true);
  });
}

export function decodeTrailer(payload: Uint8Array, offset: number): StreamTrailer {
  if (payload.length < TRAILER_PAYLOAD_SIZE) throw new StreamCorruptError('trailer record is too short', offset);
  const dv = checkRecord(payload, undefined, 'trailer', offset);
  const rawBytes = getU64(dv, 20);
  const chunkCount = getU64(dv, 28);
  const zeroChunks = getU64(dv, 36);
  const storedChunks = getU64(dv, 44);
  const encodedBytes = getU64(dv, 56);
  if (
    rawBytes === undefined ||
    chunkCount === undefined ||
    zeroChunks === undefined ||
    storedChunks === undefined ||
    encodedBytes === undefined
  ) {
    throw new StreamCorruptError('trailer has out-of-range fields', offset + ENVELOPE_SIZE);
  }
  return {
    streamId: payload.slice(4, 20),
    rawBytes,
    chunkCount,
    zeroChunks,
    storedChunks,
    sectionCount: dv.getUint32(52, true),
    encodedBytes,
    digest: dv.getBigUint64(64, true),
  };
}
