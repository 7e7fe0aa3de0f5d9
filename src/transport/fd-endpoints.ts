// The process's stdin and stdout as the stream's ends, by what the descriptor is.
// - A regular file (`load -i - < FILE`, `save -o - > FILE`) is read and written directly, a megabyte per call into
//   the pipeline's own buffers: Node's file stream would move it 64 KiB at a time through new buffers and a
//   thread-pool round trip each. A file never leaves a call waiting, so nothing here can stall.
// - A pipe, socket or terminal stays event-driven: a read(2) or write(2) blocked on a stalled peer in the thread pool
//   could not be taken back, and would even hold the process's exit (the runtime joins its pool threads on the way
//   out). A pipe is grown instead (growPipe), so each read moves more, and a pipe being read is read into one fixed
//   buffer (pipeFdSource), not through Node's stream, which hands over every read as a new buffer.
import { fstatSync, read, write } from 'node:fs';
import { throwIfAborted } from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { RingSocket } from './ring-socket.ts';

/** Linux fcntl F_SETPIPE_SZ. */
const F_SETPIPE_SZ = 1031;
/** A pipe's capacity once the stream is large: the unprivileged maximum by default (/proc/sys/fs/pipe-max-size). */
export const GROWN_PIPE_SIZE = 1 << 20;
/** Bytes moved before the pipe is grown: a small stream never pays for loading the FFI. */
export const GROW_PIPE_AFTER = 4 << 20;

/** What descriptor `fd` is: 'file' (regular), 'pipe' (FIFO) or 'other' (socket, terminal, device, closed). */
export function descriptorKind(fd: number): 'file' | 'pipe' | 'other' {
  try {
    const st = fstatSync(fd);
    return st.isFile() ? 'file' : st.isFIFO() ? 'pipe' : 'other';
  } catch {
    return 'other';
  }
}

/**
 * Raises a pipe's capacity from the kernel's 64 KiB to GROWN_PIPE_SIZE. Both ends of a pipe in a shell pipeline wake
 * once per pipe-full: at 64 KiB that is sixteen wake-ups, reads and events per megabyte, and at these rates their
 * fixed cost, not the copy, sets the speed. Needs the runtime's FFI (koffi in Node, Deno.dlopen with --allow-ffi);
 * without it, or when the kernel refuses (the user's pipe budget), the pipe keeps its size and everything still
 * works. Resolves with the new capacity, or 0.
 */
export async function growPipe(fd: number): Promise<number> {
  try {
    if (descriptorKind(fd) !== 'pipe' || !ffiAllowedWithoutAsking()) return 0;
    const { loadLibc } = await import('../device/vfio/ffi.ts');
    const r = (await loadLibc()).fcntlVal(fd, F_SETPIPE_SZ, GROWN_PIPE_SIZE);
    return Math.max(r.ret, 0);
  } catch {
    return 0;
  }
}

interface DenoPermissions {
  permissions?: { querySync?(d: { name: string }): { state: string } };
}

/** Deno asks on the terminal for a permission not granted: an optimisation must never do that mid-transfer. */
export function ffiAllowedWithoutAsking(): boolean {
  const deno = (globalThis as { Deno?: DenoPermissions }).Deno;
  if (!deno) return true;
  return deno.permissions?.querySync?.({ name: 'ffi' }).state === 'granted';
}

/** Calls growPipe(fd) once `bytes` has passed GROW_PIPE_AFTER. */
export function pipeGrower(fd: number): (bytes: number) => void {
  let done = false;
  return (bytes) => {
    if (done || bytes < GROW_PIPE_AFTER) return;
    done = true;
    void growPipe(fd);
  };
}

function readFd(fd: number, into: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, into, 0, into.length, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

function writeFd(fd: number, data: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, data, 0, data.length, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

export interface FdEndpointOptions {
  /** The descriptor's name in messages (`stdin`). */
  name: string;
  /** Turns a system error into the error the caller reports (bytes moved so far). */
  mapError: (err: Error, bytes: number) => Error;
}

/** A source reading regular file `fd` from its current position. close() leaves the descriptor open (not ours). */
export function fileFdSource(fd: number, opts: FdEndpointOptions): ByteSource {
  let bytes = 0;
  let closed = false;
  return {
    name: opts.name,
    async read(into, o) {
      throwIfAborted(o?.signal);
      if (closed || into.length === 0) return 0;
      try {
        const n = await readFd(fd, into);
        bytes += n;
        return n;
      } catch (err) {
        throw opts.mapError(err as Error, bytes);
      }
    },
    async close() {
      closed = true;
    },
  };
}

/** Bytes a pipe read may move at once: a grown pipe's whole capacity. */
const PIPE_READ_PIECE = GROWN_PIPE_SIZE;
/** Read-ahead held for the reader: the kernel's next pipe-full waits here while the pipeline works on the last. */
const PIPE_READ_AHEAD = 2 * GROWN_PIPE_SIZE;

/**
 * A source reading pipe `fd` (stdin) as it fills: each read(2) lands in a bounded ring (RingSocket) that the caller's
 * reads copy from; while the ring is full, the pipe is not read. Node's stream would allocate a buffer per
 * read instead (64 KiB each, freed only by a collection): decoding 512 MiB from a pipe held 134 MB, against 75 MB from
 * a file. Nothing else may read `fd` (for stdin: process.stdin must not have been touched). close() stops reading and
 * leaves the descriptor open.
 */
export function pipeFdSource(fd: number, opts: FdEndpointOptions): ByteSource {
  const ring = RingSocket.overFd(fd, PIPE_READ_AHEAD, PIPE_READ_PIECE);
  let bytes = 0;
  let closed = false;
  const changeOrAbort = (signal: AbortSignal | undefined) =>
    new Promise<void>((resolve) => {
      const done = () => {
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const off = ring.onChange(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  return {
    name: opts.name,
    async read(into, o) {
      for (;;) {
        throwIfAborted(o?.signal);
        if (closed || into.length === 0) return 0;
        const n = ring.take(into);
        if (n > 0) {
          bytes += n;
          return n;
        }
        if (ring.error) throw opts.mapError(ring.error, bytes);
        if (ring.drainedEnd) return 0;
        await changeOrAbort(o?.signal);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // not destroyed: that would close the descriptor, and a later open() could be handed fd 0
      ring.socket.pause();
      ring.socket.unref();
    },
  };
}

/** A sink appending to regular file `fd`. end() leaves the descriptor open (the process's stdout). */
export function fileFdSink(fd: number, opts: FdEndpointOptions): ByteSink {
  let bytes = 0;
  let broken: Error | null = null;
  return {
    name: opts.name,
    async write(data, o) {
      throwIfAborted(o?.signal);
      if (broken) throw broken;
      let off = 0;
      try {
        while (off < data.length) {
          const n = await writeFd(fd, off === 0 ? data : data.subarray(off));
          off += n;
          bytes += n;
        }
      } catch (err) {
        broken = opts.mapError(err as Error, bytes);
        throw broken;
      }
    },
    async end() {
      if (broken) throw broken;
    },
    async abort(reason) {
      broken ??= reason instanceof Error ? reason : new Error(`${opts.name} aborted`);
    },
  };
}
