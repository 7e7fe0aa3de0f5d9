// The saving side of a simulated device, inside its worker: writes the device's stream into the data socket. Pages go
// out once in order (the initial data), then whatever the running device rewrote after it was sent (dirty data);
// STOP_COPY adds what is left and the trailer, then closes the fd. Records are generated straight into a few reused
// write buffers of about 1 MiB (several records each: few syscalls, no allocation per record); a buffer is refilled
// only once the kernel has taken all of it, so a slow reader stops the producer with a full socket buffer and
// nothing piles up in memory.
import type { Socket } from 'node:net';
import {
  ENTRY_SIZE,
  encodeTrailer,
  HEADER_SIZE,
  initialDataSize,
  MAX_RECORD_PAGES,
  newStreamHash,
  RECORD_HEADER_SIZE,
  recordSize,
  TRAILER_SIZE,
  writeHeader,
  writeRecordHeader,
} from './device-stream-format.ts';
import { fillPage } from './page-content.ts';
import { PAGE_SIZE } from './profiles.ts';
import type { SimDeviceModel } from './sim-device-model.ts';
import type { SimEvent } from './sim-protocol.ts';

/** Full records per write buffer (about 1 MiB): each kernel write moves as much as the socket buffer takes. */
const BATCH_RECORDS = 8;
const BATCH_BYTES = HEADER_SIZE + BATCH_RECORDS * recordSize(MAX_RECORD_PAGES);
/** Write buffers in turn: one being filled while the kernel drains the others. */
const POOL_SIZE = 3;

interface WriteBuffer {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  /** Settles once the kernel has taken everything last written from this buffer (or the session closed). */
  done: Promise<void>;
}

export interface ProducerHooks {
  post(event: SimEvent): void;
  /** Ends the device abruptly (die-at). */
  die(detail: string): void;
}

export class StateProducer {
  readonly id: number;
  readonly #model: SimDeviceModel;
  readonly #hooks: ProducerHooks;
  #phase: 'precopy' | 'stopcopy';
  #socket: Socket | null = null;
  #closed = false;
  /** Generation + 1 of each page as last sent; 0 = not sent yet. */
  readonly #sent: Uint32Array;
  readonly #queued: Uint8Array;
  #queue: number[] = [];
  #queueHead = 0;
  #cursor = 0;
  #records = 0;
  #written = 0;
  #trailerWritten = false;
  /** What `written` will be once the dirty record (or trailer) being written now is out; 0 when none is. */
  #emitEnd = 0;
  readonly #initialTotal: number;
  readonly #hash = newStreamHash();
  readonly #pool: WriteBuffer[] = [];
  #poolNext = 0;
  /** Writes the kernel has not finished, released by close() so nothing waits on a destroyed socket. */
  readonly #inFlight = new Set<() => void>();
  #lastWrite: Promise<void> = Promise.resolve();
  #wake: (() => void) | null = null;
  #idle = false;
  #pieceRng: number;
  /** The pages of the record being written. */
  readonly #pageList = new Uint32Array(MAX_RECORD_PAGES);
  readonly #onDirty: (page: number) => void;

  constructor(id: number, model: SimDeviceModel, phase: 'precopy' | 'stopcopy', hooks: ProducerHooks) {
    this.id = id;
    this.#model = model;
    this.#phase = phase;
    this.#hooks = hooks;
    this.#sent = new Uint32Array(model.config.pageCount);
    this.#queued = new Uint8Array(model.config.pageCount);
    this.#initialTotal = initialDataSize(model.config.pageCount);
    this.#pieceRng = (model.config.seed ^ 0x9e3779b9) >>> 0 || 1;
    this.#onDirty = (page) => {
      if (this.#sent[page] !== 0 && this.#queued[page] === 0) {
        this.#queued[page] = 1;
        this.#queue.push(page);
        this.#kick();
      }
    };
    model.onDirty = this.#onDirty;
  }

  /** The host has connected its end of the data fd. */
  get attached(): boolean {
    return this.#socket !== null;
  }

  get written(): number {
    return this.#written;
  }

  /** Pre-copy info for a reader that has consumed `read` bytes. */
  precopyInfo(read: number): { initialBytes: number; dirtyBytes: number } {
    this.#model.accrue();
    const initialBytes = Math.max(0, this.#initialTotal - read);
    const inFlightDirty = Math.max(0, this.#written - Math.max(read, this.#initialTotal));
    return { initialBytes, dirtyBytes: this.#pendingDirtyBytes() + this.#emitting() + inFlightDirty };
  }

  /** Bytes a reader at `read` still has to take before the end of STOP_COPY, as things stand. */
  remainingBytes(read: number): number {
    this.#model.accrue();
    const unsentInitial = this.#initialTotal - Math.min(this.#written, this.#initialTotal);
    const trailer = this.#trailerWritten ? 0 : TRAILER_SIZE;
    return unsentInitial + this.#pendingDirtyBytes() + this.#emitting() + trailer + Math.max(0, this.#written - read);
  }

  /** Dirty records (or the trailer) taken off the queue into the buffer being written, not yet all written. */
  #emitting(): number {
    return Math.max(0, this.#emitEnd - Math.max(this.#written, this.#initialTotal));
  }

  #pendingDirtyBytes(): number {
    const pages = this.#queue.length - this.#queueHead;
    return pages * (ENTRY_SIZE + PAGE_SIZE) + Math.ceil(pages / MAX_RECORD_PAGES) * RECORD_HEADER_SIZE;
  }

  enterStopCopy(): void {
    this.#phase = 'stopcopy';
    this.#kick();
  }

  /** The host connected its end of the data fd: start producing. */
  attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    this.#run().catch(() => this.close());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#model.onDirty === this.#onDirty) this.#model.onDirty = null;
    this.#socket?.destroy();
    for (const release of [...this.#inFlight]) release();
    this.#kick();
  }

  #kick(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async #run(): Promise<void> {
    let first = true;
    while (!this.#closed) {
      this.#model.accrue();
      const buf = await this.#takeBuffer();
      if (this.#closed) return;
      let len = 0;
      if (first) {
        writeHeader(buf.bytes, 0, this.#identity());
        len = HEADER_SIZE;
        first = false;
      }
      len = this.#fillRecords(buf, len);
      if (len > 0) {
        const bytes = buf.bytes.subarray(0, len);
        this.#hash.update(bytes);
        this.#emitEnd = this.#written + len;
        await this.#emit(bytes, buf);
        this.#emitEnd = 0;
        continue;
      }
      if (this.#phase === 'stopcopy') {
        const trailer = encodeTrailer(this.#records, this.#written, this.#hash);
        this.#trailerWritten = true;
        this.#emitEnd = this.#written + trailer.length;
        await this.#emit(trailer, null);
        this.#emitEnd = 0;
        if (!this.#closed) this.#socket?.end();
        return;
      }
      // Pre-copy with nothing to send: the reader's next read() gets ENOMSG until the device writes again.
      if (!this.#idle) {
        this.#idle = true;
        this.#hooks.post({ ev: 'idle', session: this.id, offset: this.#written });
      }
      await this.#sleep(this.#model.config.clock === 'real' ? this.#model.msUntilNextPage() : Number.POSITIVE_INFINITY);
    }
  }

  /** The next write buffer, once the kernel has taken what was last written from it. */
  async #takeBuffer(): Promise<WriteBuffer> {
    if (this.#pool.length < POOL_SIZE) {
      const bytes = new Uint8Array(BATCH_BYTES);
      const buf = { bytes, words: new Int32Array(bytes.buffer), done: Promise.resolve() };
      this.#pool.push(buf);
      return buf;
    }
    const buf = this.#pool[this.#poolNext]!;
    this.#poolNext = (this.#poolNext + 1) % POOL_SIZE;
    await buf.done;
    return buf;
  }

  /** Appends whole records (initial pages in order, then dirty ones) after byte `len`; returns the new length. */
  #fillRecords(buf: WriteBuffer, len: number): number {
    const pageCount = this.#model.config.pageCount;
    while (len + recordSize(MAX_RECORD_PAGES) <= buf.bytes.length) {
      if (this.#cursor < pageCount) {
        const first = this.#cursor;
        const n = Math.min(MAX_RECORD_PAGES, pageCount - first);
        this.#cursor += n;
        for (let i = 0; i < n; i++) this.#pageList[i] = first + i;
        len = this.#writeRecord(buf, len, n);
        continue;
      }
      const pending = this.#queue.length - this.#queueHead;
      if (pending === 0) break;
      const n = Math.min(MAX_RECORD_PAGES, pending);
      for (let i = 0; i < n; i++) {
        const p = this.#queue[this.#queueHead + i]!;
        this.#queued[p] = 0;
        this.#pageList[i] = p;
      }
      this.#queueHead += n;
      if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      len = this.#writeRecord(buf, len, n);
    }
    return len;
  }

  /** One record of the `n` pages in #pageList at byte `len` (a multiple of 4) of `buf`. */
  #writeRecord(buf: WriteBuffer, len: number, n: number): number {
    const words = buf.words;
    const model = this.#model;
    const gen = model.gen;
    const seed = model.contentSeed;
    const head = len >>> 2;
    writeRecordHeader(words, head, n, this.#records++);
    const entries = head + RECORD_HEADER_SIZE / 4;
    const data = entries + (n * ENTRY_SIZE) / 4;
    for (let i = 0; i < n; i++) {
      const page = this.#pageList[i]!;
      const g = gen[page]!;
      words[entries + i * 2] = page;
      words[entries + i * 2 + 1] = g | 0;
      this.#sent[page] = g + 1;
      fillPage(words, data + i * (PAGE_SIZE / 4), model.map.kindOf(page), seed, page, g);
    }
    return len + recordSize(n);
  }

  #identity() {
    const m = this.#model;
    return {
      profile: m.config.profile.name,
      pageCount: m.config.pageCount,
      flags: m.config.flags,
      seed: m.contentSeed,
    };
  }

  /** Writes `bytes` (from `buf`, or a one-off array), sent as the faults make them. */
  async #emit(bytes: Uint8Array, buf: WriteBuffer | null): Promise<void> {
    if (this.#idle) {
      this.#idle = false;
      this.#hooks.post({ ev: 'busy', session: this.id });
    }
    const f = this.#model.config.faults;
    let off = 0;
    while (off < bytes.length && !this.#closed) {
      const pos = this.#written;
      if (pos === f.dieAt) {
        await this.#flush();
        this.#hooks.die(`died at stream offset ${pos} (die-at)`);
        return this.#sleep(Number.POSITIVE_INFINITY);
      }
      if (pos === f.failAt) {
        this.#hooks.post({ ev: 'session-failed', session: this.id, offset: pos, errno: 'EIO' });
        return this.#sleepUntilClosed();
      }
      if (pos === f.stallAt) return this.#sleepUntilClosed();
      let end = bytes.length;
      for (const b of [f.dieAt, f.failAt, f.stallAt]) {
        if (b !== undefined && b > pos && b < pos + (end - off)) end = off + (b - pos);
      }
      if (f.shortReads) end = Math.min(end, off + 1 + (this.#nextPiece() % 509));
      let piece = bytes.subarray(off, end);
      if (f.corruptAt !== undefined && f.corruptAt >= pos && f.corruptAt < pos + piece.length) {
        piece = piece.slice();
        piece[f.corruptAt - pos]! ^= 0x5a;
      }
      const done = this.#write(piece);
      if (buf) buf.done = done;
      this.#written += piece.length;
      off = end;
      // Separate kernel writes with a turn of the event loop between them, so the reader sees the pieces.
      if (f.shortReads) await new Promise((r) => setImmediate(r));
    }
  }

  #nextPiece(): number {
    let s = this.#pieceRng;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.#pieceRng = s;
    return s >>> 0;
  }

  /** Hands `piece` to the socket; the promise settles once the kernel has it (or the session closed). */
  #write(piece: Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.#closed) return Promise.resolve();
    this.#lastWrite = new Promise((resolve) => {
      const release = () => {
        this.#inFlight.delete(release);
        resolve();
      };
      this.#inFlight.add(release);
      socket.write(piece, release);
    });
    return this.#lastWrite;
  }

  /** Resolves once every byte written so far is in the kernel (the socket completes writes in order). */
  #flush(): Promise<void> {
    return this.#lastWrite;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.#kick(), ms) : undefined;
      this.#wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
    });
  }

  async #sleepUntilClosed(): Promise<void> {
    while (!this.#closed) await this.#sleep(Number.POSITIVE_INFINITY);
  }
}
