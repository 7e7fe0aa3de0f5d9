// The reading end of a data socket, read into one fixed buffer of ours (Node's `onread`) rather than a fresh 64 KiB
// Buffer per read: each read(2) takes all the kernel holds (a whole socket buffer, ~200 KiB) with no allocation, which
// is what lets a simulated device move GB/s. Reading stops while the buffer holds unread bytes, so the kernel's
// socket buffer, not this process, holds what the reader has not taken yet.
import type { Socket } from 'node:net';

export class SocketReader {
  readonly #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #socket: Socket | null = null;
  #ended = false;
  #error: Error | null = null;
  readonly #wakers = new Set<() => void>();

  constructor(size: number) {
    this.#buf = new Uint8Array(size);
  }

  /** What the socket is created with (`net.createConnection({ ..., onread })`). */
  get onread(): { buffer: Uint8Array; callback: (n: number) => boolean } {
    return { buffer: this.#buf, callback: (n) => this.#onRead(n) };
  }

  /** Starts watching `socket` (created with `onread`) for its end and errors. */
  attach(socket: Socket): void {
    this.#socket = socket;
    const wake = () => this.wake();
    socket.on('end', () => {
      this.#ended = true;
      wake();
    });
    socket.on('error', (err) => {
      this.#error ??= err;
      wake();
    });
    socket.on('close', () => {
      this.#ended = true;
      wake();
    });
    // The end of the stream is only reported to a flowing socket; the data itself never goes through the stream.
    socket.resume();
  }

  #onRead(n: number): boolean {
    this.#start = 0;
    this.#end = n;
    this.wake();
    // Hold further reads until this buffer has been taken.
    return false;
  }

  /** Wakes whoever waits on this reader (the session has news of its own). */
  wake(): void {
    for (const w of [...this.#wakers]) w();
  }

  /** Bytes read and not taken yet. */
  get available(): number {
    return this.#end - this.#start;
  }

  /** The peer closed its end and every byte has been taken. */
  get ended(): boolean {
    return this.#ended && this.available === 0;
  }

  get error(): Error | null {
    return this.#error;
  }

  /** Copies up to `max` unread bytes into `into` at `at`; returns how many. */
  take(into: Uint8Array, at: number, max: number): number {
    const n = Math.min(max, this.#end - this.#start, into.length - at);
    if (n <= 0) return 0;
    into.set(this.#buf.subarray(this.#start, this.#start + n), at);
    this.#start += n;
    if (this.#start === this.#end) this.#socket?.resume();
    return n;
  }

  /** Resolves on the next news (bytes, end, error) or rejects when `signal` aborts. */
  wait(signal: AbortSignal | undefined, onAbort: () => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        signal?.removeEventListener('abort', aborted);
        this.#wakers.delete(done);
        resolve();
      };
      const aborted = () => {
        this.#wakers.delete(done);
        reject(onAbort());
      };
      this.#wakers.add(done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Exactly `n` bytes (a handshake's), or an error if the peer closes first. */
  async readExactly(n: number, signal: AbortSignal | undefined, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      have += this.take(out, have, n - have);
      if (have === n) break;
      if (this.#error) throw this.#error;
      if (this.#ended) throw new Error(`the peer closed the connection ${have > 0 ? 'inside' : 'before'} ${what}`);
      await this.wait(signal, () => new Error('aborted'));
    }
    return out;
  }
}
