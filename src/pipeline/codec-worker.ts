// Worker entry: one ChunkEncoder or ChunkDecoder per thread, fed chunk buffers by transfer and handing results back
// the same way (the input buffer returns too, so the main thread reuses it instead of allocating).
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
  | { op: 'encode'; id: number; seq: number; rawOffset: number; buf: ArrayBuffer; length: number }
  | { op: 'decode'; id: number; descriptor: ChunkDescriptor; dataOffset: number; buf: ArrayBuffer; length: number };

export type CodecReply =
  | { id: number; ok: true; bytes: Uint8Array; descriptor?: ChunkDescriptor; buf: ArrayBuffer }
  | { id: number; ok: false; error: ReturnType<typeof serializeError>; buf: ArrayBuffer };

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
            const out = (codec as ChunkEncoder).encode(req.seq, req.rawOffset, new Uint8Array(req.buf, 0, req.length));
            const bytes = detachableBytes(out.bytes);
            const reply: CodecReply = { id: req.id, ok: true, bytes, descriptor: out.descriptor, buf: req.buf };
            port.postMessage(reply, bytes.buffer === req.buf ? [req.buf] : [req.buf, bytes.buffer as ArrayBuffer]);
          } else {
            const out = (codec as ChunkDecoder).decode({
              descriptor: req.descriptor,
              dataOffset: req.dataOffset,
              data: new Uint8Array(req.buf, 0, req.length),
            });
            const bytes = detachableBytes(out);
            const reply: CodecReply = { id: req.id, ok: true, bytes, buf: req.buf };
            port.postMessage(reply, bytes.buffer === req.buf ? [req.buf] : [req.buf, bytes.buffer as ArrayBuffer]);
          }
        } catch (err) {
          const reply: CodecReply = { id: req.id, ok: false, error: serializeError(err), buf: req.buf };
          port.postMessage(reply, [req.buf]);
        }
      });
      port.postMessage({ ready: true });
    },
    (err) => port.postMessage({ ready: false, error: serializeError(err) }),
  );
}
