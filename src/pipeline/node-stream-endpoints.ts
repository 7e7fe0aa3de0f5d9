// Adapters between Node streams (sockets, pipes, process stdio, any Readable/Writable) and the pipeline's ends.
// Writes wait for the stream's own callback, so a slow peer slows the pipeline instead of growing Node's buffers.
import type { Readable, Writable } from 'node:stream';
import { throwIfAborted, VfioMigrateError } from '../errors.ts';
import { type ByteSink, type ByteSource, sourceFromAsyncIterable } from './byte-endpoints.ts';

export interface NodeEndpointOptions {
  /** Turns a stream error (or an early close) into the error the caller reports. */
  mapError?: (err: Error, bytes: number) => Error;
  /** end() leaves the stream open (process stdout: the process may still print to it). */
  keepOpen?: boolean;
}

const earlyClose = (what: string) => new Error(`${what} closed before the stream ended`);

/** A source over a Node Readable; close() destroys it. */
export function sourceFromNodeReadable(
  readable: Readable,
  name: string,
  opts: NodeEndpointOptions & { keepOpenOnClose?: boolean } = {},
): ByteSource {
  let bytes = 0;
  const inner = sourceFromAsyncIterable(readable as AsyncIterable<Uint8Array>, name, () => {
    if (!opts.keepOpenOnClose) readable.destroy();
  });
  return {
    name,
    async read(into, o) {
      try {
        const n = await inner.read(into, o);
        bytes += n;
        return n;
      } catch (err) {
        throw opts.mapError && err instanceof Error && !(err instanceof VfioMigrateError)
          ? opts.mapError(err, bytes)
          : err;
      }
    },
    close: () => inner.close(),
  };
}

/** A sink over a Node Writable; each write resolves when the stream's callback says the bytes left our hands. */
export function sinkFromNodeWritable(writable: Writable, name: string, opts: NodeEndpointOptions = {}): ByteSink {
  let bytes = 0;
  let failure: Error | null = null;
  let settled = false;
  const pending = new Set<(err: Error) => void>();
  const fail = (err: Error) => {
    if (!failure) failure = opts.mapError && !(err instanceof VfioMigrateError) ? opts.mapError(err, bytes) : err;
    for (const reject of pending) reject(failure);
    pending.clear();
  };
  const onError = (err: Error) => fail(err);
  const onClose = () => {
    if (!settled) fail(earlyClose(name));
  };
  writable.on('error', onError);
  writable.on('close', onClose);
  const detach = () => {
    writable.off('error', onError);
    writable.off('close', onClose);
  };

  return {
    name,
    write(data, o) {
      throwIfAborted(o?.signal);
      if (failure) return Promise.reject(failure);
      return new Promise<void>((resolve, reject) => {
        pending.add(reject);
        writable.write(data, (err) => {
          pending.delete(reject);
          if (err) {
            fail(err);
            reject(failure ?? err);
          } else {
            bytes += data.length;
            resolve();
          }
        });
      });
    },
    async end() {
      if (failure) throw failure;
      if (settled) return;
      if (opts.keepOpen) {
        settled = true;
        detach();
        return;
      }
      await new Promise<void>((resolve, reject) => {
        pending.add(reject);
        writable.end(() => {
          pending.delete(reject);
          resolve();
        });
      });
      settled = true;
      detach();
    },
    async abort(reason) {
      if (settled) return;
      fail(reason instanceof Error ? reason : new Error(`${name} aborted`));
      settled = true;
      detach();
      writable.on('error', () => {});
      if (!opts.keepOpen) writable.destroy();
    },
  };
}
