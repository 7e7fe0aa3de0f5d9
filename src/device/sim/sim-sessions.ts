// The host's ends of a simulated device's data fds. Reads take only what the socket already holds (at most its small
// read buffer), so a slow caller leaves the device blocked on a full socket rather than growing memory anywhere.
import type { Socket } from 'node:net';
import { AbortedError, DeviceGoneError, SessionClosedError, throwIfAborted, VfioDataIoError } from '../../errors.ts';
import type { OperationOptions, ResumingSession, SavingSession } from '../types.ts';
import { READ_DRAINED, READ_END } from '../types.ts';
import type { SimEvent } from './sim-protocol.ts';

/** What a session needs to know about its device. */
export interface SessionLink {
  readonly deviceId: string;
  /** The device is in PRE_COPY or PRE_COPY_P2P (an empty fd then means "nothing right now", not the end). */
  inPreCopy(): boolean;
  /** Why the device's thread went away, or null while it lives. */
  gone(): string | null;
  /** The most one read() may return: unbounded normally; a few hundred bytes under the short-reads fault. */
  readCap(): number;
}

/** Bytes the host socket may hold ahead of the reader. */
export const SOCKET_READ_BUFFER = 256 * 1024;

function waitFor(wakers: Set<() => void>, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      wakers.delete(done);
      resolve();
    };
    const onAbort = () => {
      wakers.delete(done);
      reject(new AbortedError('data session read aborted', { cause: signal?.reason }));
    };
    wakers.add(done);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function wakeAll(wakers: Set<() => void>): void {
  for (const w of [...wakers]) w();
}

export class SimSavingSession implements SavingSession {
  readonly kind = 'saving' as const;
  readonly id: number;
  readonly #socket: Socket;
  readonly #link: SessionLink;
  readonly #wakers = new Set<() => void>();
  #bytesRead = 0;
  #closed = false;
  #ended = false;
  #error: Error | null = null;
  #idleAt: number | null = null;
  #failure: { offset: number; errno: string } | null = null;

  constructor(id: number, socket: Socket, link: SessionLink) {
    this.id = id;
    this.#socket = socket;
    this.#link = link;
    const wake = () => wakeAll(this.#wakers);
    socket.on('readable', wake);
    socket.on('end', () => {
      this.#ended = true;
      wake();
    });
    socket.on('error', (err) => {
      this.#error = err;
      wake();
    });
    socket.on('close', wake);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** News from the device about this session. */
  event(ev: SimEvent): void {
    if (ev.ev === 'idle') this.#idleAt = ev.offset;
    else if (ev.ev === 'busy') this.#idleAt = null;
    else if (ev.ev === 'session-failed') this.#failure = { offset: ev.offset, errno: ev.errno };
    wakeAll(this.#wakers);
  }

  async read(into: Uint8Array, opts?: OperationOptions): Promise<number> {
    if (into.length === 0) throw new RangeError('read() needs a buffer of at least one byte');
    const socket = this.#socket;
    for (;;) {
      if (this.#closed) throw new SessionClosedError(`the saving session of ${this.#link.deviceId} is closed`);
      throwIfAborted(opts?.signal);
      let limit = Math.min(into.length, this.#link.readCap());
      if (this.#failure) limit = Math.min(limit, this.#failure.offset - this.#bytesRead);
      let n = 0;
      while (n < limit && socket.readableLength > 0) {
        // Never ask for more than the read buffer: a larger read() would make the stream raise its buffer size.
        const want = Math.min(limit - n, socket.readableLength, socket.readableHighWaterMark);
        const chunk = socket.read(want) as Uint8Array | null;
        if (!chunk) break;
        into.set(chunk, n);
        n += chunk.length;
      }
      if (n > 0) {
        this.#bytesRead += n;
        return n;
      }
      if (this.#failure && this.#bytesRead >= this.#failure.offset) {
        throw new VfioDataIoError(`read(data fd) of ${this.#link.deviceId} failed: ${this.#failure.errno}`, {
          operation: 'read(data fd)',
          errnoName: this.#failure.errno,
          device: this.#link.deviceId,
        });
      }
      if (this.#error) {
        throw new VfioDataIoError(`read(data fd) of ${this.#link.deviceId} failed: ${this.#error.message}`, {
          operation: 'read(data fd)',
          errnoName: (this.#error as NodeJS.ErrnoException).code,
          device: this.#link.deviceId,
        });
      }
      // An empty read lets a pending EOF surface as 'end'.
      if (socket.readableLength === 0) socket.read(0);
      if (this.#ended || socket.readableEnded) return READ_END;
      if (this.#link.inPreCopy() && this.#idleAt === this.#bytesRead) return READ_DRAINED;
      await waitFor(this.#wakers, opts?.signal);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    wakeAll(this.#wakers);
  }
}

export class SimResumingSession implements ResumingSession {
  readonly kind = 'resuming' as const;
  readonly id: number;
  readonly #socket: Socket;
  readonly #link: SessionLink;
  #bytesWritten = 0;
  #closed = false;
  #broken: Error | null = null;

  constructor(id: number, socket: Socket, link: SessionLink) {
    this.id = id;
    this.#socket = socket;
    this.#link = link;
    // Errors reach write() through its callback; this listener keeps them from being unhandled.
    socket.on('error', () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async write(data: Uint8Array, opts?: OperationOptions): Promise<void> {
    if (this.#closed) throw new SessionClosedError(`the resuming session of ${this.#link.deviceId} is closed`);
    if (this.#broken) throw this.#broken;
    const signal = opts?.signal;
    throwIfAborted(signal);
    if (data.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        // Part of `data` may have gone in: the stream is inconsistent from here, as after an interrupted write().
        this.#broken = new AbortedError(
          `a write to ${this.#link.deviceId} was aborted; its resuming data is incomplete (reset the device)`,
        );
        this.#socket.destroy();
        reject(new AbortedError('data session write aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#socket.write(data, (err) => {
        signal?.removeEventListener('abort', onAbort);
        if (!err) return resolve();
        const gone = this.#link.gone();
        this.#broken = gone
          ? new DeviceGoneError(this.#link.deviceId, gone)
          : new VfioDataIoError(`write(data fd) of ${this.#link.deviceId} failed: ${err.message}`, {
              operation: 'write(data fd)',
              errnoName: (err as NodeJS.ErrnoException).code,
              device: this.#link.deviceId,
            });
        reject(this.#broken);
      });
    });
    this.#bytesWritten += data.length;
  }

  /** The device died: a write in flight (and every later one) fails with `err`. */
  deviceGone(err: Error): void {
    this.#broken ??= err;
    this.#socket.destroy();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
  }
}
