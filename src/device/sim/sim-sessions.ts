// The host's ends of a simulated device's data fds. Reads take only what the socket already holds (at most its small
// read buffer), so a slow caller leaves the device blocked on a full socket rather than growing memory anywhere.
import type { Socket } from 'node:net';
import { AbortedError, DeviceGoneError, SessionClosedError, throwIfAborted, VfioDataIoError } from '../../errors.ts';
import type { RingSocket } from '../../transport/ring-socket.ts';
import { GROW_SEND_BUFFER_AFTER, growSendBuffer } from '../../transport/socket-send-buffer.ts';
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

/**
 * Who waits on a session's socket. A wait costs one promise: each signal gets one abort listener for the session's
 * life rather than one per wait (at a wait per 64 KiB read, those listeners were a fifth of a save's allocations).
 */
class Waiters {
  readonly #what: string;
  /** The first #count slots wait; slots are reused (an array emptied by `length = 0` gives up its storage). */
  readonly #resolves: Array<(() => void) | undefined> = [];
  readonly #rejects: Array<((err: Error) => void) | undefined> = [];
  readonly #signals: Array<AbortSignal | undefined> = [];
  #count = 0;
  readonly #listening: AbortSignal[] = [];
  readonly #onAbort = (): void => this.#abortWaiting();

  constructor(what: 'read' | 'write') {
    this.#what = what;
  }

  wait(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(this.#aborted(signal));
    if (signal && !this.#listening.includes(signal)) {
      this.#listening.push(signal);
      signal.addEventListener('abort', this.#onAbort);
    }
    return new Promise<void>((resolve, reject) => {
      const i = this.#count++;
      this.#resolves[i] = resolve;
      this.#rejects[i] = reject;
      this.#signals[i] = signal;
    });
  }

  /** Wakes everyone waiting now (a resolve runs nobody's code at once, so nobody joins during the loop). */
  wakeAll(): void {
    const n = this.#count;
    this.#count = 0;
    for (let i = 0; i < n; i++) {
      const resolve = this.#resolves[i]!;
      this.#resolves[i] = undefined;
      this.#rejects[i] = undefined;
      this.#signals[i] = undefined;
      resolve();
    }
  }

  /** Wakes everyone and lets go of the signals (the session is done). */
  close(): void {
    this.wakeAll();
    for (const signal of this.#listening) signal.removeEventListener('abort', this.#onAbort);
    this.#listening.length = 0;
  }

  /** A signal aborted: its waiters fail, the others keep waiting. */
  #abortWaiting(): void {
    const n = this.#count;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const signal = this.#signals[i];
      const resolve = this.#resolves[i];
      const reject = this.#rejects[i];
      this.#resolves[i] = undefined;
      this.#rejects[i] = undefined;
      this.#signals[i] = undefined;
      if (signal?.aborted) {
        reject!(this.#aborted(signal));
      } else {
        this.#resolves[kept] = resolve;
        this.#rejects[kept] = reject;
        this.#signals[kept] = signal;
        kept++;
      }
    }
    this.#count = kept;
  }

  #aborted(signal: AbortSignal): AbortedError {
    return new AbortedError(`data session ${this.#what} aborted`, { cause: signal.reason });
  }
}

export class SimSavingSession implements SavingSession {
  readonly kind = 'saving' as const;
  readonly id: number;
  readonly #host: RingSocket;
  readonly #link: SessionLink;
  readonly #wakers = new Waiters('read');
  #bytesRead = 0;
  #closed = false;
  #idleAt: number | null = null;
  #failure: { offset: number; errno: string } | null = null;

  constructor(id: number, host: RingSocket, link: SessionLink) {
    this.id = id;
    this.#host = host;
    this.#link = link;
    host.onChange(() => this.#wakers.wakeAll());
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
    this.#wakers.wakeAll();
  }

  async read(into: Uint8Array, opts?: OperationOptions): Promise<number> {
    if (into.length === 0) throw new RangeError('read() needs a buffer of at least one byte');
    const host = this.#host;
    for (;;) {
      if (this.#closed) throw new SessionClosedError(`the saving session of ${this.#link.deviceId} is closed`);
      throwIfAborted(opts?.signal);
      let limit = Math.min(into.length, this.#link.readCap());
      if (this.#failure) limit = Math.min(limit, this.#failure.offset - this.#bytesRead);
      const n = limit > 0 ? host.take(into, limit) : 0;
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
      const error = host.error;
      if (error) {
        throw new VfioDataIoError(`read(data fd) of ${this.#link.deviceId} failed: ${error.message}`, {
          operation: 'read(data fd)',
          errnoName: (error as NodeJS.ErrnoException).code,
          device: this.#link.deviceId,
        });
      }
      if (host.drainedEnd) return READ_END;
      if (this.#link.inPreCopy() && this.#idleAt === this.#bytesRead) return READ_DRAINED;
      await this.#wakers.wait(opts?.signal);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.destroy();
    this.#wakers.close();
  }
}

/**
 * Bytes a resuming session may have on their way to the device beyond the kernel's socket buffer. write() copies the
 * caller's bytes and returns while no more than this is queued, as a driver's write() returns once it has copied
 * them: the caller then prepares its next bytes while the device takes these, instead of the two waiting in turn.
 */
export const RESUME_WRITE_AHEAD = 1024 * 1024;

export class SimResumingSession implements ResumingSession {
  readonly kind = 'resuming' as const;
  readonly id: number;
  readonly #socket: Socket;
  readonly #link: SessionLink;
  #bytesWritten = 0;
  #closed = false;
  #broken: Error | null = null;
  /** Bytes handed to the socket whose write has not completed, and who waits for that number to fall. */
  #queued = 0;
  readonly #drained = new Waiters('write');
  /** Copies whose writes completed, for the next writes. */
  readonly #spare: Uint8Array[] = [];
  /** The socket's send buffer has been asked to grow (once GROW_SEND_BUFFER_AFTER bytes have been written). */
  #grown = false;

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

  /** Bytes accepted by write(), including those still on their way to the device (see settle()). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async write(data: Uint8Array, opts?: OperationOptions): Promise<void> {
    if (this.#closed) throw new SessionClosedError(`the resuming session of ${this.#link.deviceId} is closed`);
    if (this.#broken) throw this.#broken;
    const signal = opts?.signal;
    throwIfAborted(signal);
    if (data.length === 0) return;
    // Room first: at most RESUME_WRITE_AHEAD may be queued when these bytes join the queue.
    await this.#waitQueued(RESUME_WRITE_AHEAD - 1, signal);
    if (this.#broken) throw this.#broken;
    const copy = this.#copyOf(data);
    this.#queued += data.length;
    this.#bytesWritten += data.length;
    if (!this.#grown && this.#bytesWritten >= GROW_SEND_BUFFER_AFTER) {
      // the device checks a megabyte faster than the host wakes to refill the kernel's 208 KiB: checking 512 MiB of
      // sim:gpu ran at about 1 GB/s with the kernel's default, about 2 GB/s with the larger buffer
      this.#grown = true;
      void growSendBuffer(this.#socket);
    }
    this.#socket.write(copy, (err) => {
      this.#queued -= copy.length;
      if (err) {
        const gone = this.#link.gone();
        this.#broken ??= gone
          ? new DeviceGoneError(this.#link.deviceId, gone)
          : new VfioDataIoError(`write(data fd) of ${this.#link.deviceId} failed: ${err.message}`, {
              operation: 'write(data fd)',
              errnoName: (err as NodeJS.ErrnoException).code,
              device: this.#link.deviceId,
            });
      } else if (this.#spare.length < 2) this.#spare.push(new Uint8Array(copy.buffer));
      this.#drained.wakeAll();
    });
  }

  /**
   * Resolves once every write accepted has completed or failed. A failed one is not thrown here: the device, which
   * then has less than was written, judges the stream on the next arc, as it would after a failed write().
   */
  async settle(opts?: OperationOptions): Promise<void> {
    await this.#waitQueued(0, opts?.signal);
  }

  #copyOf(data: Uint8Array): Uint8Array {
    let buffer = this.#spare.pop();
    if (!buffer || buffer.length < data.length) buffer = new Uint8Array(Math.max(data.length, buffer?.length ?? 0));
    const copy = buffer.subarray(0, data.length);
    copy.set(data);
    return copy;
  }

  async #waitQueued(limit: number, signal: AbortSignal | undefined): Promise<void> {
    while (this.#queued > limit && !this.#broken) {
      try {
        await this.#drained.wait(signal);
      } catch (err) {
        // Part of what was accepted may have gone in: the stream is inconsistent from here, as after an interrupted
        // write().
        this.#broken = new AbortedError(
          `a write to ${this.#link.deviceId} was aborted; its resuming data is incomplete (reset the device)`,
        );
        this.#socket.destroy();
        throw err;
      }
    }
  }

  /** The device died: a write in flight (and every later one) fails with `err`. */
  deviceGone(err: Error): void {
    this.#broken ??= err;
    this.#socket.destroy();
    this.#drained.wakeAll();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#drained.close();
  }
}
