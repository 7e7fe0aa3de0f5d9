// The receipt: what a receiver sends back over a two-way transport (a socket) once it is done with a stream, so the
// sender learns whether the load succeeded, not only that its bytes left. One record keyed with the stream id, so a
// receipt for another stream (or a damaged one) is refused; a sender whose peer sends none (a plain `nc`) sees only
// the connection's close, as with any byte sink.
//
//   payload: tag 'VFMR', u8 ok (1) or failed (0), 3 reserved, u32 n, n bytes of UTF-8 JSON
//            {code?, message?, finalState?}, CRC32C keyed with the stream id
import { StreamCorruptError } from '../errors.ts';
import { ENVELOPE_SIZE, MAX_RECORD_PAYLOAD, RECORD_MAGIC, TAG_RECEIPT } from './format-constants.ts';
import { view } from './little-endian.ts';
import { buildRecord, checkRecord } from './record-envelope.ts';

export interface StreamReceipt {
  /** The receiver loaded the whole stream and its device accepted it. */
  ok: boolean;
  /** The receiver's error code when it failed. */
  code?: string | undefined;
  message?: string | undefined;
  /** Where the receiver's device ended. */
  finalState?: string | undefined;
}

const FIXED = 12;

export function encodeReceipt(streamId: Uint8Array, receipt: StreamReceipt): Uint8Array {
  const { ok, ...rest } = receipt;
  let json = new TextEncoder().encode(JSON.stringify(rest));
  if (json.length > MAX_RECORD_PAYLOAD - FIXED - 4) {
    json = new TextEncoder().encode(JSON.stringify({ code: rest.code, finalState: rest.finalState }));
  }
  return buildRecord(FIXED + json.length + 4, streamId, (dv, payload) => {
    dv.setUint32(0, TAG_RECEIPT, true);
    dv.setUint8(4, ok ? 1 : 0);
    dv.setUint32(8, json.length, true);
    payload.set(json, FIXED);
  });
}

/**
 * The receipt at the start of `bytes` (what the peer sent back), or null when the peer sent nothing that could be
 * one yet (too few bytes). Throws StreamCorruptError when the bytes are not a receipt for this stream.
 */
export function decodeReceipt(bytes: Uint8Array, streamId: Uint8Array): StreamReceipt | null {
  if (bytes.length < ENVELOPE_SIZE) return null;
  const dv = view(bytes);
  const size = dv.getUint32(4, true);
  if (dv.getUint32(0, true) !== RECORD_MAGIC || size < FIXED + 4 || size > MAX_RECORD_PAYLOAD) {
    throw new StreamCorruptError('the peer answered with something that is not a receipt', 0);
  }
  if (bytes.length < ENVELOPE_SIZE + size) return null;
  const payload = bytes.subarray(ENVELOPE_SIZE, ENVELOPE_SIZE + size);
  const p = checkRecord(payload, streamId, 'receipt', 0);
  const n = p.getUint32(8, true);
  if (p.getUint32(0, true) !== TAG_RECEIPT || FIXED + n + 4 !== size) {
    throw new StreamCorruptError('the peer answered with something that is not a receipt', 0);
  }
  let fields: Omit<StreamReceipt, 'ok'>;
  try {
    fields = JSON.parse(new TextDecoder().decode(payload.subarray(FIXED, FIXED + n)));
  } catch (cause) {
    throw new StreamCorruptError('the receipt holds no valid JSON', ENVELOPE_SIZE + FIXED, { cause });
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    ok: p.getUint8(4) === 1,
    code: str(fields.code),
    message: str(fields.message),
    finalState: str(fields.finalState),
  };
}
