// Metadata records travel as skippable frames: magic, size, then a payload that starts with a 4-byte tag and ends
// with a CRC32C. Records after the header key their CRC with the stream id, so a record spliced in from another
// stream fails its check exactly like a damaged one.
import { crc32c } from '../core/index.ts';
import { StreamCorruptError } from '../errors.ts';
import { ENVELOPE_SIZE, RECORD_MAGIC } from './format-constants.ts';
import { view } from './little-endian.ts';

const NO_KEY = new Uint8Array(0);

function recordCrc(payload: Uint8Array, key: Uint8Array): number {
  const body = payload.subarray(0, payload.length - 4);
  return key.length === 0 ? crc32c(body) : crc32c(body, crc32c(key));
}

/**
 * Allocates a record frame with `payloadSize` payload bytes, lets `fill` write the fields (tag included) through a
 * DataView over the payload, then seals it with the CRC. Returns the whole frame.
 */
export function buildRecord(
  payloadSize: number,
  key: Uint8Array | undefined,
  fill: (dv: DataView, payload: Uint8Array) => void,
): Uint8Array {
  const frame = new Uint8Array(ENVELOPE_SIZE + payloadSize);
  const dv = view(frame);
  dv.setUint32(0, RECORD_MAGIC, true);
  dv.setUint32(4, payloadSize, true);
  const payload = frame.subarray(ENVELOPE_SIZE);
  const pdv = view(payload);
  fill(pdv, payload);
  pdv.setUint32(payloadSize - 4, recordCrc(payload, key ?? NO_KEY), true);
  return frame;
}

/** Verifies a record payload's CRC; `offset` is the frame's stream offset, for the error. */
export function checkRecord(payload: Uint8Array, key: Uint8Array | undefined, what: string, offset: number): DataView {
  const dv = view(payload);
  const stored = dv.getUint32(payload.length - 4, true);
  if (stored !== recordCrc(payload, key ?? NO_KEY)) {
    throw new StreamCorruptError(
      key && key.length > 0
        ? `${what} checksum mismatch: the record is damaged or belongs to another stream`
        : `${what} checksum mismatch: the record is damaged`,
      offset,
    );
  }
  return dv;
}
