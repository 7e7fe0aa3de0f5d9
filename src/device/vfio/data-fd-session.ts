// Saving and resuming sessions over a migration data fd. Each read or write runs off the event loop (node:fs on
// libuv's pool, a worker thread in Deno) and the caller's buffer is the only buffer, so a slow consumer slows the
// device down. Cancellation is checked between calls: a read already inside the kernel cannot be interrupted.
import { AbortedError, SessionClosedError, throwIfAborted, VfioDataIoError } from '../../errors.ts';
import { type DeviceState, isPreCopyState } from '../../fsm/index.ts';
import { type OperationOptions, READ_DRAINED, READ_END, type ResumingSession, type SavingSession } from '../types.ts';
import { Errno, errorFromErrno } from './errno.ts';
import type { Libc, SyscallResult } from './ffi.ts';

const AGAIN_DELAY_MS = 2;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError(undefined, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

abstract class DataFdSession {
  readonly fd: number;
  protected readonly libc: Libc;
  protected readonly label: string;
  #closed = false;
  #inflight: Promise<unknown> | null = null;

  constructor(libc: Libc, fd: number, label: string) {
    this.libc = libc;
    this.fd = fd;
    this.label = label;
  }

  get closed(): boolean {
    return this.#closed;
  }

  protected ensureOpen(): void {
    if (this.#closed) throw new SessionClosedError(`the ${this.label} data session is closed`);
  }

  /** One call at a time per fd: the kernel's file position is shared, so concurrent calls would interleave bytes. */
  protected async once(call: () => Promise<SyscallResult>): Promise<SyscallResult> {
    if (this.#inflight)
      throw new VfioDataIoError(`${this.label}: a read or write is already in progress on this session`);
    const p = call();
    this.#inflight = p;
    try {
      return await p;
    } finally {
      this.#inflight = null;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing under a call in flight would let the fd number be reused by the time the call reaches the kernel.
    if (this.#inflight) await this.#inflight.catch(() => {});
    this.libc.close(this.fd);
  }
}

export class SavingFdSession extends DataFdSession implements SavingSession {
  readonly kind = 'saving' as const;
  #bytesRead = 0;
  readonly #phase: () => DeviceState;

  /** `phase` answers which state the device is in now: a drained read means "wait" in PRE_COPY, "done" after. */
  constructor(libc: Libc, fd: number, label: string, phase: () => DeviceState) {
    super(libc, fd, label);
    this.#phase = phase;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  async read(into: Uint8Array, opts?: OperationOptions): Promise<number> {
    if (into.length === 0) throw new RangeError('read() needs a buffer of at least one byte');
    for (;;) {
      throwIfAborted(opts?.signal);
      this.ensureOpen();
      const r = await this.once(() => this.libc.readAsync(this.fd, into));
      if (r.ret > 0) {
        this.#bytesRead += r.ret;
        return r.ret;
      }
      const preCopy = isPreCopyState(this.#phase());
      // The uAPI asks for ENOMSG at pre-copy's temporary end; mtty (and others) return 0 there instead.
      if (r.ret === 0) return preCopy ? READ_DRAINED : READ_END;
      if (r.errno === Errno.ENOMSG) return READ_DRAINED;
      if (r.errno === Errno.EINTR) continue;
      if (r.errno === Errno.EAGAIN) {
        if (preCopy) return READ_DRAINED;
        await sleep(AGAIN_DELAY_MS, opts?.signal);
        continue;
      }
      throw errorFromErrno(r.errno, { kind: 'save-read', operation: `read(${this.label} data fd)` });
    }
  }
}

export class ResumingFdSession extends DataFdSession implements ResumingSession {
  readonly kind = 'resuming' as const;
  #bytesWritten = 0;

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async write(data: Uint8Array, opts?: OperationOptions): Promise<void> {
    let off = 0;
    while (off < data.length) {
      throwIfAborted(opts?.signal);
      this.ensureOpen();
      const chunk = off === 0 ? data : data.subarray(off);
      const r = await this.once(() => this.libc.writeAsync(this.fd, chunk));
      if (r.ret > 0) {
        off += r.ret;
        this.#bytesWritten += r.ret;
        continue;
      }
      if (r.ret === 0) {
        throw new VfioDataIoError(
          `write(${this.label} data fd) accepted nothing after ${this.#bytesWritten} bytes: the device takes no more`,
          { operation: `write(${this.label} data fd)` },
        );
      }
      if (r.errno === Errno.EINTR) continue;
      if (r.errno === Errno.EAGAIN) {
        await sleep(AGAIN_DELAY_MS, opts?.signal);
        continue;
      }
      throw errorFromErrno(r.errno, {
        kind: 'resume-write',
        operation: `write(${this.label} data fd)`,
        acceptedBytes: this.#bytesWritten,
      });
    }
  }
}
