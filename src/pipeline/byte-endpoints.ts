// The two ends every pipeline runs between. A source is pulled into the caller's buffer (so the hot path reads the
// device straight into pooled chunk buffers); a sink is pushed to and resolves when it has taken the bytes, which is
// what carries backpressure from the slowest consumer back to the source reads.
import type { OperationOptions } from '../device/types.ts';
import { throwIfAborted } from '../errors.ts';

export interface ByteSource {
  /** What this is, for messages (`file /tmp/x`, `tcp://127.0.0.1:7000`...). */
  readonly name: string;
  /**
   * Reads up to `into.length` bytes into `into`; resolves with the count, or 0 at the end. Short reads are fine.
   * `into` is the caller's: a source never keeps it after the promise settles.
   */
  read(into: Uint8Array, opts?: OperationOptions): Promise<number>;
  /** Releases what the source holds (fd, socket, iterator). Idempotent; safe after a failure. */
  close(): Promise<void>;
  /**
   * Two-way transports only (sockets): sends `data` back to the peer and ends this side's output. A load uses it for
   * its receipt, so the sender learns how the load went.
   */
  reply?(data: Uint8Array): Promise<void>;
}

export interface ByteSink {
  readonly name: string;
  /**
   * Resolves once the sink has taken all of `data`. The caller may reuse `data` afterwards, so a sink that keeps
   * bytes past that point copies them.
   */
  write(data: Uint8Array, opts?: OperationOptions): Promise<void>;
  /**
   * Flushes and closes after a complete stream (a file is synced and moved into place, a socket half-closed). A
   * two-way sink (a socket) resolves with what the peer sent back (the receiver's receipt), once the peer closed.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: one-way sinks end with nothing to say (void); sockets answer
  end(opts?: OperationOptions): Promise<Uint8Array | undefined | void>;
  /** Tears down after a failure: no flush, partial files removed, sockets destroyed. Idempotent. */
  abort(reason?: unknown): Promise<void>;
}

/** Fills `into` completely unless the source ends first; resolves with the bytes read. */
export async function readFull(source: ByteSource, into: Uint8Array, opts?: OperationOptions): Promise<number> {
  let filled = 0;
  while (filled < into.length) {
    throwIfAborted(opts?.signal);
    const n = await source.read(filled === 0 ? into : into.subarray(filled), opts);
    if (n <= 0) break;
    filled += n;
  }
  return filled;
}

/**
 * A source over an async iterable of byte chunks (Node Readable, Web ReadableStream, generators). Holds at most one
 * pending chunk of the iterable; copies into the caller's buffer.
 */
export function sourceFromAsyncIterable(
  iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  name = 'async iterable',
  onClose?: () => void | Promise<void>,
): ByteSource {
  const iterator =
    Symbol.asyncIterator in iterable
      ? (iterable as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
      : (iterable as Iterable<Uint8Array>)[Symbol.iterator]();
  let pending: Uint8Array | null = null;
  let done = false;
  let closed = false;
  let waiting = false;
  return {
    name,
    async read(into, opts) {
      throwIfAborted(opts?.signal);
      while (!pending || pending.length === 0) {
        if (done || closed) return 0;
        waiting = true;
        const r = await Promise.resolve(iterator.next()).finally(() => (waiting = false));
        if (closed) return 0;
        if (r.done) {
          done = true;
          return 0;
        }
        const value = r.value as unknown;
        pending = typeof value === 'string' ? new TextEncoder().encode(value) : (value as Uint8Array);
      }
      const n = Math.min(pending.length, into.length);
      into.set(n === pending.length ? pending : pending.subarray(0, n));
      pending = n === pending.length ? null : pending.subarray(n);
      return n;
    },
    async close() {
      if (closed) return;
      closed = true;
      pending = null;
      // Release the underlying stream first: an async generator's return() waits behind a next() still pending
      // (a read of an idle socket), so awaiting it first would hold the close until the peer sent something.
      try {
        await onClose?.();
      } finally {
        if (!done) {
          const returned = iterator.return?.();
          if (waiting) void Promise.resolve(returned).catch(() => {});
          else await returned;
        }
      }
    },
  };
}

/**
 * A source over a Web ReadableStream of bytes (async iterable in Node and Deno); close() cancels the stream, as
 * returning from its iterator does.
 */
export function sourceFromWebReadable(stream: ReadableStream<Uint8Array>, name = 'web stream'): ByteSource {
  return sourceFromAsyncIterable(stream as unknown as AsyncIterable<Uint8Array>, name);
}

/** A sink over a Web WritableStream; abort() aborts the stream. */
export function sinkFromWebWritable(stream: WritableStream<Uint8Array>, name = 'web stream'): ByteSink {
  const writer = stream.getWriter();
  let finished = false;
  return {
    name,
    async write(data, opts) {
      throwIfAborted(opts?.signal);
      await writer.ready;
      // The stream may hold the chunk in its queue after write() resolves: hand it a copy it owns.
      await writer.write(data.slice());
    },
    async end() {
      if (finished) return;
      finished = true;
      await writer.close();
    },
    async abort(reason) {
      if (finished) return;
      finished = true;
      await writer.abort(reason).catch(() => {});
    },
  };
}

/** A sink that calls `onChunk` with a copy of every write; for tests and in-memory consumers. */
export function sinkFromCallback(onChunk: (data: Uint8Array) => void | Promise<void>, name = 'callback'): ByteSink {
  return {
    name,
    async write(data, opts) {
      throwIfAborted(opts?.signal);
      await onChunk(data.slice());
    },
    async end() {},
    async abort() {},
  };
}
