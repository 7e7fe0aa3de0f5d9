// Worker entry: one ChunkEncoder or ChunkDecoder per thread, fed chunk buffers by transfer and handing results back
// the same way. Both buffers circulate: the input returns with the result, and the result is written into an output
// buffer the main thread hands over with the request (one an earlier result was written from), so in steady state a
// chunk allocates nothing.
import { parentPort, workerData } from 'node:worker_threads';
import type { ChunkDescriptor, StreamHeader, StreamLimits } from '../stream/index.ts';
import { ChunkDecoder, ChunkEncoder } from '../stream/index.ts';
import { serializeError } from './worker-errors.ts';

export interface CodecWorkerData {
  role: 'encode' | 'decode';
  header: StreamHeader;
  limits?: StreamLimits | undefined;
}

export type CodecRequest =
  | { op: 'encode'; id: number; seq: number; rawOffset: number; buf: ArrayBuffer; length: number; out?: ArrayBuffer }
  | {
      op: 'decode';
      id: number;
      descriptor: ChunkDescriptor;
      dataOffset: number;
      buf: ArrayBuffer;
      length: number;
      out?: ArrayBuffer;
    };

export type CodecReply =
  | { id: number; ok: true; bytes: Uint8Array; descriptor?: ChunkDescriptor; buf: ArrayBuffer }
  | { id: number; ok: false; error: ReturnType<typeof serializeError>; buf: ArrayBuffer };

/** The buffers a reply moves: the input, and the result's own buffer (the request's output buffer, or a new one). */
function transfers(req: CodecRequest, bytes: Uint8Array): ArrayBuffer[] {
  const list = [req.buf];
  const b = bytes.buffer as ArrayBuffer;
  if (b !== req.buf) list.push(b);
  return list;
}

/**
 * The buffer to hand back for `view`: its own buffer when the view spans all of it (moved, not copied), else a copy
 * (the view may be a window into memory its producer reuses, such as a wasm arena).
 */
export function detachableBytes(view: Uint8Array): Uint8Array {
  const b = view.buffer;
  if (b instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === b.byteLength) return view;
  return view.slice();
}

const port = parentPort;
if (port) {
  const data = workerData as CodecWorkerData;
  const start = async () =>
    data.role === 'encode'
      ? await ChunkEncoder.create(data.header)
      : await ChunkDecoder.create(data.header, data.limits);
  start().then(
    (codec) => {
      port.on('message', (req: CodecRequest) => {
        try {
          if (req.op === 'encode') {
            const into = req.out ? new Uint8Array(req.out) : undefined;
            const out = (codec as ChunkEncoder).encode(
              req.seq,
              req.rawOffset,
              new Uint8Array(req.buf, 0, req.length),
              into,
            );
            const bytes = into ? out.bytes : detachableBytes(out.bytes);
            const reply: CodecReply = { id: req.id, ok: true, bytes, descriptor: out.descriptor, buf: req.buf };
            port.postMessage(reply, transfers(req, bytes));
          } else {
            const into = req.out ? new Uint8Array(req.out) : undefined;
            const frame = {
              descriptor: req.descriptor,
              dataOffset: req.dataOffset,
              data: new Uint8Array(req.buf, 0, req.length),
            };
            const out = (codec as ChunkDecoder).decode(frame, into);
            const bytes = into && out.buffer === req.out ? out : detachableBytes(out);
            const reply: CodecReply = { id: req.id, ok: true, bytes, buf: req.buf };
            port.postMessage(reply, transfers(req, bytes));
          }
        } catch (err) {
          // a failed chunk fails the stream: its output buffer is not needed back
          const reply: CodecReply = { id: req.id, ok: false, error: serializeError(err), buf: req.buf };
          port.postMessage(reply, [req.buf]);
        }
      });
      port.postMessage({ ready: true });
    },
    (err) => port.postMessage({ ready: false, error: serializeError(err) }),
  );
}
