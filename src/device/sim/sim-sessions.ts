// The host's ends of a simulated device's data fds. Reads take only what the socket already holds (at most its read
// buffer), so a slow caller leaves the device blocked on a full socket rather than growing memory anywhere.
import type { Socket } from 'node:net';
import { AbortedError, DeviceGoneError, SessionClosedError, throwIfAborted, VfioDataIoError } from '../../errors.ts';
import type { OperationOptions, ResumingSession, SavingSession } from '../types.ts';
import { READ_DRAINED, READ_END } from '../types.ts';
import type { SocketReader } from './data-socket-reader.ts';
import type { SimEvent } from './sim-protocol.ts';

/** What a session needs to know about its device. */
export interface SessionLink {
  readonly deviceId: string;
  /** The device is in PRE_COPY or PRE_COPY_P2P (an empty fd then means "nothing right now", not the end). */
  inPreCopy(): boolean;
  /** Why the device's thread went away, or null while it lives. */
  gone(): string | null;
  /** Why the device's thread went away, after a round trip to it (so a death already under way is seen), or null. */
  settledGone(): Promise<string | null>;
  /** The most one read() may return: unbounded normally; a few hundred bytes under the short-reads fault. */
  readCap(): number;
}

/** Bytes the host may hold ahead of the reader: one read(2) of a full socket buffer (~200 KiB) fits. */
export const SOCKET_READ_BUFFER = 256 * 1024;

export class SimSavingSession implements SavingSession {
  readonly kind = 'saving' as const;
  readonly id: number;
  readonly #socket: Socket;
  readonly #reader: SocketReader;
  readonly #link: SessionLink;
  #bytesRead = 0;
  #closed = false;
  #idleAt: number | null = null;
  #failure: { offset: number; errno: string } | null = null;

  /** `socket` reads into `reader` (it was connected with `reader.onread`). */
  constructor(id: number, socket: Socket, reader: SocketReader, link: SessionLink) {
    this.id = id;
    this.#socket = socket;
    this.#reader = reader;
    this.#link = link;
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
    this.#reader.wake();
  }

  async read(into: Uint8Array, opts?: OperationOptions): Promise<number> {
    if (into.length === 0) throw new RangeError('read() needs a buffer of at least one byte');
    const reader = this.#reader;
    for (;;) {
      if (this.#closed) throw new SessionClosedError(`the saving session of ${this.#link.deviceId} is closed`);
      throwIfAborted(opts?.signal);
      let limit = Math.min(into.length, this.#link.readCap());
      if (this.#failure) limit = Math.min(limit, this.#failure.offset - this.#bytesRead);
      // One read(2)'s worth at most: what the kernel had when the device last wrote.
      const n = limit > 0 ? reader.take(into, 0, limit) : 0;
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
      const error = reader.error;
      if (error) {
        throw new VfioDataIoError(`read(data fd) of ${this.#link.deviceId} failed: ${error.message}`, {
          operation: 'read(data fd)',
          errnoName: (error as NodeJS.ErrnoException).code,
          device: this.#link.deviceId,
        });
      }
      if (reader.ended) return READ_END;
      if (this.#link.inPreCopy() && this.#idleAt === this.#bytesRead) return READ_DRAINED;
      await reader.wait(
        opts?.signal,
        () => new AbortedError('data session read aborted', { cause: opts?.signal?.reason }),
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#reader.wake();
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
        // The fd may break before the news of the device's death arrives: ask the device before telling which.
        void this.#link.settledGone().then((gone) => {
          this.#broken ??= gone
            ? new DeviceGoneError(this.#link.deviceId, gone)
            : new VfioDataIoError(`write(data fd) of ${this.#link.deviceId} failed: ${err.message}`, {
                operation: 'write(data fd)',
                errnoName: (err as NodeJS.ErrnoException).code,
                device: this.#link.deviceId,
              });
          reject(this.#broken);
        });
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
