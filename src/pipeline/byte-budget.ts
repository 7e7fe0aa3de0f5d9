// The one number that bounds a pipeline's memory: bytes read from the source and not yet taken by the sink.
// Readers acquire before they read, the writer releases once the sink has the bytes; when the sink is slow the
// budget runs dry and the next read waits, which is how backpressure reaches the source.
import { AbortedError, PipelineConfigError } from '../errors.ts';

interface Waiter {
  bytes: number;
  resolve(): void;
  reject(err: Error): void;
}

export class ByteBudget {
  readonly capacity: number;
  #used = 0;
  #peak = 0;
  #waiters: Waiter[] = [];
  #failure: Error | null = null;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) {
      throw new PipelineConfigError(`the byte budget must be a positive integer, not ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** The most ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Takes `bytes` now if they fit, else waits (first come, first served) until releases make room. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (bytes > this.capacity) {
      return Promise.reject(
        new PipelineConfigError(`a single reservation of ${bytes} bytes exceeds the byte budget of ${this.capacity}`),
      );
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (signal?.aborted) return Promise.reject(new AbortedError(undefined, { cause: signal.reason }));
    if (this.#waiters.length === 0 && this.#used + bytes <= this.capacity) {
      this.#take(bytes);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        waiter.reject(new AbortedError(undefined, { cause: signal?.reason }));
        this.#grant();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    this.#used -= bytes;
    if (this.#used < 0) throw new Error(`internal: byte budget released ${-this.#used} bytes more than it held`);
    this.#grant();
  }

  /** Rejects every waiter and every later acquire with `err` (the pipeline failed). */
  fail(err: Error): void {
    this.#failure ??= err;
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  #take(bytes: number): void {
    this.#used += bytes;
    if (this.#used > this.#peak) this.#peak = this.#used;
  }

  #grant(): void {
    while (this.#waiters.length > 0) {
      const head = this.#waiters[0]!;
      if (this.#used + head.bytes > this.capacity) return;
      this.#waiters.shift();
      this.#take(head.bytes);
      head.resolve();
    }
  }
}
