// A socket read the way a driver's fd is: into memory its owner holds. Node would otherwise hand every read over as
// a fresh 64 KiB buffer; at device speed that was the largest cost of a save (page faults on each new buffer and the
// collections they caused: 0.43 s of a 1.7 s 512 MiB save), and on a pipe on stdin the dead buffers held tens of MiB.
// Here the kernel reads straight into the free space of a bounded ring (the socket's `onread`, handed the next free
// stretch after each read), and the reader copies out of the ring. When the ring is full, reading stops (the writer
// then waits on a full socket or pipe) until the reader has made room. Used for a simulated device's data socket (the
// host's end) and for a pipe on stdin.
import net, { type Socket } from 'node:net';
import { AbortedError } from '../errors.ts';

/**
 * The most one read of a device's data socket takes: the whole ring's free stretch at the default size. Every read
 * wakes the reader, so 64 KiB reads made four times the wake-ups, and their promises were most of a save's garbage
 * (1 GiB: 69 → 43 MB allocated on the main thread, peak RSS flat from 256 MiB to 16 GiB, saves 4% faster).
 */
const READ_PIECE = 256 * 1024;

interface OnRead {
  buffer: () => Uint8Array;
  callback: (n: number) => boolean;
}

export interface ReadExactlyOptions {
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  /** What the bytes are, for messages. */
  what: string;
}

export class RingSocket {
  readonly socket: Socket;
  readonly #ring: Uint8Array;
  /** The most one read may take (the kernel is offered at most this much of the ring at a time). */
  readonly #piece: number;
  /** First unread byte of the ring, and how many follow it (wrapping around). */
  #head = 0;
  #size = 0;
  /** Reading stopped because the ring was full; take() restarts it once there is room. */
  #stopped = false;
  #ended = false;
  #error: Error | null = null;
  #closed = false;
  /** Replaced, never changed in place, so a notification runs over the listeners as they were when it began. */
  #listeners: ReadonlyArray<() => void> = [];

  /**
   * A socket made by `open` with this reader's `onread`, whose reads are buffered up to `capacity` bytes. The kernel
   * reads straight into the ring's free space (onread's buffer function hands it the next free stretch), so a byte is
   * copied once, from the ring to the reader.
   */
  private constructor(open: (onread: OnRead) => Socket, capacity: number, piece: number) {
    this.#piece = piece;
    this.#ring = new Uint8Array(Math.max(capacity, piece));
    this.socket = open({ buffer: () => this.#freeStretch(), callback: (n: number) => this.#onRead(n) });
    this.socket.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    this.socket.on('error', (err) => {
      this.#error ??= err;
      this.#notify();
    });
    this.socket.on('close', () => {
      this.#closed = true;
      this.#notify();
    });
  }

  /** Connects to the UNIX socket at `path` (a simulated device's data socket). */
  static connect(path: string, capacity: number, signal?: AbortSignal): Promise<RingSocket> {
    const host = new RingSocket(
      (onread) => net.createConnection({ path, onread }),
      capacity,
      Math.min(READ_PIECE, capacity),
    );
    const socket = host.socket;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        socket.destroy();
        reject(new AbortedError('connecting the data session was aborted', { cause: signal?.reason }));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        socket.off('error', reject);
        resolve(host);
      });
    });
  }

  /**
   * Reads the pipe or socket open on `fd` (stdin), `piece` bytes at most per read. The descriptor must be read by
   * nothing else (for fd 0: process.stdin never touched), or the two would steal each other's bytes.
   */
  static overFd(fd: number, capacity: number, piece: number): RingSocket {
    // allowHalfOpen: at the end of the data Node would otherwise end and close the socket, closing `fd` with it
    const open = (onread: OnRead) =>
      new net.Socket({ fd, readable: true, writable: false, allowHalfOpen: true, onread });
    return new RingSocket(open, capacity, piece);
  }

  /** Unread bytes held here. */
  get buffered(): number {
    return this.#size;
  }

  /** The peer closed its end (or the socket is gone) and every byte before that has been read. */
  get drainedEnd(): boolean {
    return (this.#ended || this.#closed) && this.buffered === 0;
  }

  get error(): Error | null {
    return this.#error;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls `listener` on new bytes, the end, an error or the close; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Copies up to `max` unread bytes into `into`; 0 when none are here now. */
  take(into: Uint8Array, max = into.length): number {
    const cap = this.#ring.length;
    const n = Math.min(max, into.length, this.#size);
    const first = Math.min(n, cap - this.#head);
    into.set(this.#ring.subarray(this.#head, this.#head + first), 0);
    if (n > first) into.set(this.#ring.subarray(0, n - first), first);
    this.#head = (this.#head + n) % cap;
    // the tail (head + size) does not move here: the stretch the runtime already holds for its next read stays free
    this.#size -= n;
    if (this.#stopped && n > 0 && !this.#closed) {
      this.#stopped = false;
      this.socket.resume();
    }
    return n;
  }

  /** Exactly `n` bytes (the handshake); what follows stays here for take(). */
  readExactly(n: number, opts: ReadExactlyOptions): Promise<Uint8Array> {
    const { signal } = opts;
    return new Promise((resolve, reject) => {
      const settle = (err: Error | null) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
        if (err) return reject(err);
        const out = new Uint8Array(n);
        this.take(out);
        resolve(out);
      };
      const check = () => {
        if (this.#size >= n) settle(null);
        else if (this.#error) settle(this.#error);
        else if (this.#ended || this.#closed) {
          settle(new Error(`the peer closed the connection ${this.buffered > 0 ? 'inside' : 'before'} ${opts.what}`));
        }
      };
      const onAbort = () => settle(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const timer = setTimeout(() => settle(new Error(`no ${opts.what} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      const off = this.onChange(check);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Where the kernel's next read goes: the free stretch after the unread bytes, up to the ring's end. */
  #freeStretch(): Uint8Array {
    const cap = this.#ring.length;
    const tail = (this.#head + this.#size) % cap;
    const free = this.#size === cap ? 0 : tail >= this.#head ? cap - tail : this.#head - tail;
    // The runtime asks for the next stretch right after each read, and keeps it until it reads again. Only a read moves
    // the tail, so the stretch stays free however much is taken meanwhile. A full ring has stopped reading; the runtime
    // still wants a buffer, and gets the byte at the tail, which the reader frees before reading restarts.
    return this.#ring.subarray(tail, tail + Math.max(1, Math.min(free, this.#piece)));
  }

  /** The kernel put `n` bytes into the stretch; false stops reading until take() makes room. */
  #onRead(n: number): boolean {
    this.#size += n;
    this.#notify();
    if (this.#size < this.#ring.length) return true;
    this.#stopped = true;
    return false;
  }

  #notify(): void {
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!();
  }
}
