// Whatever a caller has, as a pipeline end: device data sessions, Node streams, Web Streams, async iterables, fds.
// And the other way: a pipeline's output as an async iterable, a Node Readable or a Web ReadableStream.
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { READ_DRAINED, READ_END, type ResumingSession, type SavingSession } from '../device/types.ts';
import { AbortedError, TransportIoError, throwIfAborted } from '../errors.ts';
import {
  type ByteSink,
  type ByteSource,
  sinkFromWebWritable,
  sourceFromAsyncIterable,
  sourceFromWebReadable,
} from './byte-endpoints.ts';
import { sinkFromNodeWritable, sourceFromNodeReadable } from './node-stream-endpoints.ts';

export type SourceLike =
  | ByteSource
  | SavingSession
  | Readable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | { fd: number };

export type SinkLike = ByteSink | ResumingSession | Writable | WritableStream<Uint8Array> | { fd: number };

/** A saving session as a source. Its read() result 0 (END) and -1 (DRAINED) both end this source; `ended` says which. */
export interface SessionSource extends ByteSource {
  /** How the last read ended: the permanent end (STOP_COPY done) or pre-copy drained for now. */
  readonly ended: 'end' | 'drained' | null;
}

export function sourceFromSavingSession(session: SavingSession): SessionSource {
  let ended: 'end' | 'drained' | null = null;
  return {
    name: 'device saving session',
    get ended() {
      return ended;
    },
    async read(into, opts) {
      if (ended) return 0;
      const n = await session.read(into, opts);
      if (n === READ_END) ended = 'end';
      else if (n === READ_DRAINED) ended = 'drained';
      return Math.max(n, 0);
    },
    // The session belongs to the device: the orchestration closes it with the state change.
    async close() {},
  };
}

export function sinkFromResumingSession(session: ResumingSession): ByteSink {
  return {
    name: 'device resuming session',
    write: (data, opts) => session.write(data, opts),
    async end() {},
    async abort() {},
  };
}

/**
 * A caller's Node stream failing (destroyed by the other side's abort, a premature close, its own AbortSignal) is a
 * transport failure of ours, with a stable code: the runtime's error is kept as the cause.
 */
function nodeStreamError(name: string) {
  return (err: Error, bytes: number) => {
    const code = (err as NodeJS.ErrnoException).code;
    const what =
      code === 'ERR_STREAM_PREMATURE_CLOSE'
        ? 'closed before the stream ended'
        : err.name === 'AbortError'
          ? 'was aborted by its other end'
          : (code ?? err.message);
    return new TransportIoError(name, `${what} (after ${bytes} bytes)`, { cause: err });
  };
}

function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && 'read' in x && 'close' in x && 'name' in x && !('kind' in x);
}

function isByteSink(x: unknown): x is ByteSink {
  return typeof x === 'object' && x !== null && 'write' in x && 'abort' in x && 'end' in x && !(x instanceof Writable);
}

export function toByteSource(x: SourceLike): ByteSource {
  if ((x as SavingSession).kind === 'saving') return sourceFromSavingSession(x as SavingSession);
  if (isByteSource(x)) return x;
  if (x instanceof Readable)
    return sourceFromNodeReadable(x, 'node stream', { mapError: nodeStreamError('node stream') });
  if (typeof ReadableStream !== 'undefined' && x instanceof ReadableStream) return sourceFromWebReadable(x);
  if (typeof (x as { fd?: unknown }).fd === 'number') {
    const fd = (x as { fd: number }).fd;
    return sourceFromNodeReadable(createReadStream('', { fd, autoClose: false, highWaterMark: 1 << 20 }), `fd ${fd}`, {
      mapError: nodeStreamError(`fd ${fd}`),
    });
  }
  return sourceFromAsyncIterable(x as AsyncIterable<Uint8Array>);
}

export function toByteSink(x: SinkLike): ByteSink {
  if ((x as ResumingSession).kind === 'resuming') return sinkFromResumingSession(x as ResumingSession);
  if (x instanceof Writable)
    return sinkFromNodeWritable(x, 'node stream', { mapError: nodeStreamError('node stream') });
  // a ByteSink before the Web stream check: the first touch of the WritableStream global loads Node's web streams (5
  // ms of a small save), and a WritableStream has neither write() nor end()
  if (isByteSink(x)) return x;
  if (typeof WritableStream !== 'undefined' && x instanceof WritableStream) return sinkFromWebWritable(x);
  if (typeof (x as { fd?: unknown }).fd === 'number') {
    const fd = (x as { fd: number }).fd;
    return sinkFromNodeWritable(createWriteStream('', { fd, autoClose: false }), `fd ${fd}`, {
      keepOpen: true,
      mapError: nodeStreamError(`fd ${fd}`),
    });
  }
  throw new TypeError('not a sink: expected a ByteSink, a resuming session, a Node Writable, a WritableStream or {fd}');
}

/**
 * An in-memory pipe with bounded capacity: `sink` accepts writes until `capacity` bytes wait unread, then holds the
 * writer back; `source`/`iterable` read them. Connects a pipeline's output to a consumer that pulls.
 */
export function createBytePipe(capacity = 4 << 20): {
  sink: ByteSink;
  source: ByteSource;
  iterable: AsyncIterable<Uint8Array>;
} {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: unknown = null;
  let readerGone = false;
  let wakeReader: (() => void) | null = null;
  let wakeWriter: (() => void) | null = null;
  const wake = (which: 'r' | 'w') => {
    const f = which === 'r' ? wakeReader : wakeWriter;
    if (which === 'r') wakeReader = null;
    else wakeWriter = null;
    f?.();
  };
  const next = async (): Promise<Uint8Array | null> => {
    for (;;) {
      if (failure) throw failure;
      const head = queue.shift();
      if (head) {
        queued -= head.length;
        wake('w');
        return head;
      }
      if (ended) return null;
      await new Promise<void>((r) => (wakeReader = r));
    }
  };
  const sink: ByteSink = {
    name: 'pipe',
    async write(data, opts) {
      throwIfAborted(opts?.signal);
      while (queued > 0 && queued + data.length > capacity) {
        if (readerGone) throw new AbortedError('the pipe reader went away');
        await new Promise<void>((r) => (wakeWriter = r));
      }
      if (readerGone) throw new AbortedError('the pipe reader went away');
      queue.push(data.slice());
      queued += data.length;
      wake('r');
    },
    async end() {
      ended = true;
      wake('r');
    },
    async abort(reason) {
      failure = reason instanceof Error ? reason : new AbortedError('the pipe writer aborted', { cause: reason });
      wake('r');
    },
  };
  let pending: Uint8Array | null = null;
  const source: ByteSource = {
    name: 'pipe',
    async read(into) {
      if (!pending || pending.length === 0) pending = await next();
      if (!pending) return 0;
      const n = Math.min(into.length, pending.length);
      into.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
    async close() {
      readerGone = true;
      queue.length = 0;
      queued = 0;
      wake('w');
    },
  };
  const iterable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]() {
      return {
        async next() {
          const value = await next();
          return value ? { value, done: false } : { value: undefined, done: true };
        },
        async return() {
          await source.close();
          return { value: undefined, done: true };
        },
      };
    },
  };
  return { sink, source, iterable };
}

/** A Node Readable over an async iterable of bytes (pulls only as fast as it is read). */
export function toNodeReadable(iterable: AsyncIterable<Uint8Array>): Readable {
  return Readable.from(iterable, { objectMode: false });
}

/** A Web ReadableStream over an async iterable of bytes. */
export function toWebReadable(iterable: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = iterable[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}
