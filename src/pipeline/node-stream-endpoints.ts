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

/**
 * A source over a Node Readable; close() destroys it. It owns the stream's errors from the moment it exists: the
 * async iterator it reads through listens only from the first read, and an error before that (a peer's reset while
 * the device is being prepared) would otherwise be an unhandled 'error' event that ends the process.
 */
export function sourceFromNodeReadable(
  readable: Readable,
  name: string,
  opts: NodeEndpointOptions & { keepOpenOnClose?: boolean } = {},
): ByteSource {
  let bytes = 0;
  let early: Error | null = null;
  const onError = (err: Error) => {
    early ??= err;
  };
  readable.on('error', onError);
  // Not destroyed at the end of the data: a socket stays open for the receiver's answer until close().
  const iterable =
    typeof readable.iterator === 'function'
      ? { [Symbol.asyncIterator]: () => readable.iterator({ destroyOnReturn: false }) }
      : (readable as AsyncIterable<Uint8Array>);
  const inner = sourceFromAsyncIterable(iterable as AsyncIterable<Uint8Array>, name, () => {
    if (!opts.keepOpenOnClose) readable.destroy();
  });
  const mapped = (err: unknown) =>
    opts.mapError && err instanceof Error && !(err instanceof VfioMigrateError) ? opts.mapError(err, bytes) : err;
  return {
    name,
    async read(into, o) {
      if (early) throw mapped(early);
      try {
        const n = await inner.read(into, o);
        bytes += n;
        return n;
      } catch (err) {
        throw mapped(err);
      }
    },
    async close() {
      try {
        await inner.close();
      } finally {
        // After close the stream is ours to drop; a late error must still not be unhandled.
        readable.off('error', onError);
        readable.on('error', () => {});
      }
    },
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
