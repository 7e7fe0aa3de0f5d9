// The device's end of a data session, read the way a driver reads its fd: the kernel reads straight into memory the
// current reader holds (the handshake's key, then the stream parser's record), instead of Node handing every read
// over as a fresh 64 KiB buffer. At device speed those buffers were the resuming device's largest cost (94 ms of
// collections per 512 MiB) and a copy more per byte. An accepted socket cannot be given an `onread` buffer, so its
// handle is taken into a new socket that has one; where a runtime has no such handle, reads arrive as events and are
// copied into the reader's memory, as before.
import net, { type Socket } from 'node:net';

/** Who takes the bytes read from a connection. */
export interface ConnectionReader {
  /** Where the next read may land: non-empty, and valid until took() is called for it. */
  space(): Uint8Array;
  /** `n` bytes landed at the start of the last space(); false stops reading for good. */
  took(n: number): boolean;
}

/** Whether an accepted socket's handle may be moved into a socket with an `onread` buffer. */
function handleOf(socket: Socket): object | null {
  const handle = (socket as unknown as { _handle?: unknown })._handle;
  return handle !== null && typeof handle === 'object' ? handle : null;
}

export interface AcceptOptions {
  /** Read through data events and copies even where the handle could be moved (tests the portable path). */
  events?: boolean;
}

export class DeviceDataConnection {
  readonly socket: Socket;
  #reader: ConnectionReader;
  #stopped = false;

  private constructor(accepted: Socket, reader: ConnectionReader, opts: AcceptOptions) {
    this.#reader = reader;
    const handle = opts.events ? null : handleOf(accepted);
    if (handle) {
      // The old socket lets go of the handle (nothing else refers to it); the new one reads into the reader's memory.
      (accepted as unknown as { _handle: unknown })._handle = null;
      this.socket = new net.Socket({
        handle,
        allowHalfOpen: accepted.allowHalfOpen,
        onread: { buffer: () => this.#reader.space(), callback: (n: number) => this.#took(n) },
      } as net.SocketConstructorOpts);
    } else {
      this.socket = accepted;
      accepted.on('data', (chunk: Uint8Array) => this.#copyIn(chunk));
    }
  }

  /** Reads `accepted` (a connection a server just handed over, before any I/O) into `first`'s memory. */
  static accept(accepted: Socket, first: ConnectionReader, opts: AcceptOptions = {}): DeviceDataConnection {
    return new DeviceDataConnection(accepted, first, opts);
  }

  /** From the next read on, bytes go to `reader`. */
  readWith(reader: ConnectionReader): void {
    this.#reader = reader;
  }

  #took(n: number): boolean {
    if (this.#stopped) return false;
    if (this.#reader.took(n)) return true;
    this.#stopped = true;
    return false;
  }

  #copyIn(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.#stopped) {
      const space = this.#reader.space();
      const n = Math.min(space.length, chunk.length - at);
      space.set(chunk.subarray(at, at + n));
      at += n;
      if (!this.#took(n)) this.socket.pause();
    }
  }
}

/** Takes whatever arrives and drops it (a saving session's host sends nothing after its key). */
export class DiscardReader implements ConnectionReader {
  readonly #scratch = new Uint8Array(4096);
  space(): Uint8Array {
    return this.#scratch;
  }
  took(): boolean {
    return true;
  }
}
