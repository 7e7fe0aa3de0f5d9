// Section markers: the start of a pre-copy round or of the final STOP_COPY part.
import { StreamCorruptError } from '../errors.ts';
import {
  ENVELOPE_SIZE,
  SECTION_BY_ID,
  SECTION_FLAG_EXACT,
  SECTION_IDS,
  SECTION_PAYLOAD_SIZE,
  TAG_SECTION,
  UNKNOWN_U64,
} from './format-constants.ts';
import { getU64, setU64 } from './little-endian.ts';
import { buildRecord, checkRecord } from './record-envelope.ts';
import type { SectionMarker } from './stream-types.ts';

/** The section record frame (its CRC is keyed with the stream id). */
export function encodeSection(streamId: Uint8Array, marker: SectionMarker): Uint8Array {
  return buildRecord(SECTION_PAYLOAD_SIZE, streamId, (dv) => {
    dv.setUint32(0, TAG_SECTION, true);
    dv.setUint8(4, SECTION_IDS[marker.kind]);
    dv.setUint8(5, marker.exact && marker.expectedBytes !== null ? SECTION_FLAG_EXACT : 0);
    dv.setUint32(8, marker.index, true);
    setU64(dv, 12, marker.firstSeq);
    setU64(dv, 20, marker.rawOffset);
    if (marker.expectedBytes === null) dv.setBigUint64(28, UNKNOWN_U64, true);
    else setU64(dv, 28, marker.expectedBytes);
  });
}

export function decodeSection(payload: Uint8Array, streamId: Uint8Array, offset: number): SectionMarker {
  if (payload.length < SECTION_PAYLOAD_SIZE) throw new StreamCorruptError('section record is too short', offset);
  const dv = checkRecord(payload, streamId, 'section record', offset);
  const kind = SECTION_BY_ID[dv.getUint8(4)];
  const firstSeq = getU64(dv, 12);
  const rawOffset = getU64(dv, 20);
  const expectedBytes = dv.getBigUint64(28, true) === UNKNOWN_U64 ? null : getU64(dv, 28);
  if (!kind || firstSeq === undefined || rawOffset === undefined || expectedBytes === undefined) {
    throw new StreamCorruptError('section record has out-of-range fields', offset + ENVELOPE_SIZE);
  }
  const exact = expectedBytes !== null && (dv.getUint8(5) & SECTION_FLAG_EXACT) !== 0;
  return { kind, index: dv.getUint32(8, true), firstSeq, rawOffset, expectedBytes, exact };
}
