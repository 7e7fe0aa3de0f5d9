// The saving side of a simulated device, inside its worker: writes the device's stream into the data socket. Pages go
// out once in order (the initial data), then whatever the running device rewrote after it was sent (dirty data);
// STOP_COPY adds what is left and the trailer, then closes the fd. Every write waits until the kernel has the bytes,
// so a slow reader stops the producer with a full socket buffer and nothing piles up in memory.
import type { Socket } from 'node:net';
import { Xxh3Stream } from '../../core/checksums.ts';
import type { DeviceDataConnection } from './device-data-connection.ts';
import {
  allocRecord,
  ENTRY_SIZE,
  encodeHeader,
  encodeTrailer,
  initialDataSize,
  MAX_RECORD_PAGES,
  RECORD_HEADER_SIZE,
  recordFramingSize,
  recordSize,
  TRAILER_SIZE,
} from './device-stream-format.ts';
import { PageGenerator } from './page-content.ts';
import { PAGE_SIZE } from './profiles.ts';
import type { SimDeviceModel } from './sim-device-model.ts';
import type { SimEvent } from './sim-protocol.ts';
import { faultStops } from './sim-spec.ts';

/** Bytes the producer may queue in its thread beyond what the kernel took (keeps writes flowing, bounded). */
const WRITE_AHEAD = 512 * 1024;

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
  readonly #queued: Uint8Array;
  /**
   * Pages rewritten since they were sent, in order, as a ring: each is queued at most once (#queued), so a page count
   * of slots always holds them. Typed memory, not a growing array: the thread's heap stays small whatever the device.
   */
  readonly #queue: Uint32Array;
  #queueHead = 0;
  #queueLength = 0;
  /** The pages of the dirty record being built. */
  readonly #recordPages = new Uint32Array(MAX_RECORD_PAGES);
  #cursor = 0;
  #records = 0;
  #written = 0;
  #trailerWritten = false;
  /** What `written` will be once the dirty record (or trailer) being written now is out; 0 when none is. */
  #emitEnd = 0;
  readonly #initialTotal: number;
  readonly #hash = new Xxh3Stream(0n);
  #wake: (() => void) | null = null;
  #idle = false;
  #pieceRng: number;
  /** Record buffers the socket has finished writing, for the next records (a fresh 128 KiB each cost page faults). */
  readonly #freeRecords: Uint8Array[] = [];
  readonly #onDirty: (page: number) => void;
  /** Where the injected faults act: found once, as the consuming side does, not in a new array per write. */
  readonly #faultOffsets: readonly number[];
  readonly #pages = new PageGenerator();

  constructor(id: number, model: SimDeviceModel, phase: 'precopy' | 'stopcopy', hooks: ProducerHooks) {
    this.id = id;
    this.#model = model;
    this.#phase = phase;
    this.#hooks = hooks;
    this.#queued = new Uint8Array(model.config.pageCount);
    this.#queue = new Uint32Array(model.config.pageCount);
    this.#initialTotal = initialDataSize(model.config.pageCount);
    this.#pieceRng = (model.config.seed ^ 0x9e3779b9) >>> 0 || 1;
    this.#faultOffsets = faultStops(model.config.faults);
    this.#onDirty = (page) => {
      // the first pass sends pages in order, so a page below the cursor has been sent (its record is built at once)
      if (page < this.#cursor && this.#queued[page] === 0) {
        this.#queued[page] = 1;
        this.#queue[(this.#queueHead + this.#queueLength) % this.#queue.length] = page;
        this.#queueLength++;
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
    return { initialBytes, dirtyBytes: this.#pendingDirtyBytes() + inFlightDirty };
  }

  /** Bytes a reader at `read` still has to take before the end of STOP_COPY, as things stand. */
  remainingBytes(read: number): number {
    this.#model.accrue();
    const unsentInitial = this.#initialTotal - Math.min(this.#written, this.#initialTotal);
    const trailer = this.#trailerWritten ? 0 : TRAILER_SIZE;
    // a record taken off the dirty queue is no longer pending, and not yet all written: it counts too
    const emitting = Math.max(0, this.#emitEnd - this.#written);
    return unsentInitial + this.#pendingDirtyBytes() + emitting + trailer + Math.max(0, this.#written - read);
  }

  #pendingDirtyBytes(): number {
    const pages = this.#queueLength;
    return pages * (ENTRY_SIZE + PAGE_SIZE) + Math.ceil(pages / MAX_RECORD_PAGES) * RECORD_HEADER_SIZE;
  }

  enterStopCopy(): void {
    this.#phase = 'stopcopy';
    this.#kick();
  }

  /** The host connected its end of the data fd: start producing. */
  attach(connection: DeviceDataConnection): void {
    const socket = connection.socket;
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
    this.#kick();
  }

  #kick(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async #run(): Promise<void> {
    await this.#emit(encodeHeader(this.#identity()));
    while (!this.#closed) {
      this.#model.accrue();
      if (this.#cursor < this.#model.config.pageCount) {
        const first = this.#cursor;
        const n = Math.min(MAX_RECORD_PAGES, this.#model.config.pageCount - first);
        this.#cursor += n;
        await this.#sendPages((i) => first + i, n);
        continue;
      }
      if (this.#queueLength > 0) {
        const n = Math.min(MAX_RECORD_PAGES, this.#queueLength);
        const pages = this.#recordPages;
        for (let i = 0; i < n; i++) {
          const p = this.#queue[(this.#queueHead + i) % this.#queue.length]!;
          pages[i] = p;
          this.#queued[p] = 0;
        }
        this.#queueHead = (this.#queueHead + n) % this.#queue.length;
        this.#queueLength -= n;
        this.#emitEnd = this.#written + recordSize(n);
        // #sendPages reads `pages` before its first wait, so the next record may reuse them
        await this.#sendPages((i) => pages[i]!, n);
        this.#emitEnd = 0;
        continue;
      }
      if (this.#phase === 'stopcopy') {
        const trailer = encodeTrailer(this.#records, this.#written, this.#hash.digest());
        this.#trailerWritten = true;
        this.#emitEnd = this.#written + trailer.length;
        await this.#emit(trailer, false);
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

  #identity() {
    const m = this.#model;
    return {
      profile: m.config.profile.name,
      pageCount: m.config.pageCount,
      flags: m.config.flags,
      seed: m.contentSeed,
    };
  }

  async #sendPages(pageAt: (i: number) => number, n: number): Promise<void> {
    const buffer = this.#freeRecords.pop() ?? new Uint8Array(recordSize(MAX_RECORD_PAGES));
    const rec = allocRecord(n, this.#records++, buffer);
    const gen = this.#model.gen;
    for (let i = 0; i < n; i++) {
      const page = pageAt(i);
      const g = gen[page]!;
      rec.entries[i * 2] = page;
      rec.entries[i * 2 + 1] = g;
      const kind = this.#model.map.kindOf(page);
      this.#pages.fill(rec.bytes, rec.dataAt + i * PAGE_SIZE, kind, this.#model.contentSeed, page, g);
    }
    // the trailer's hash covers the framing; the destination checks the pages themselves
    this.#hash.update(rec.bytes.subarray(0, recordFramingSize(n)));
    await this.#emit(rec.bytes, false, () => this.#freeRecords.push(buffer));
  }

  /**
   * Writes `bytes` (hashed whole when `hashed`, sent as the faults make them), one kernel write at a time. `written` runs
   * once the socket has written the last byte, when `bytes` may be reused (never, when the session ends first).
   */
  async #emit(bytes: Uint8Array, hashed = true, written?: () => void): Promise<void> {
    if (hashed) this.#hash.update(bytes);
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
      const faultOffsets = this.#faultOffsets;
      for (let k = 0; k < faultOffsets.length; k++) {
        const b = faultOffsets[k]!;
        if (b > pos && b < pos + (end - off)) end = off + (b - pos);
      }
      if (f.shortReads) end = Math.min(end, off + 1 + (this.#nextPiece() % 509));
      let piece = bytes.subarray(off, end);
      if (f.corruptAt !== undefined && f.corruptAt >= pos && f.corruptAt < pos + piece.length) {
        piece = piece.slice();
        piece[f.corruptAt - pos]! ^= 0x5a;
      }
      await this.#write(piece, end === bytes.length ? written : undefined);
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

  /** Hands `piece` to the socket; waits for the kernel once more than WRITE_AHEAD bytes are queued in the thread. */
  #write(piece: Uint8Array, written?: () => void): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.write(piece, (err) => {
        if (!err) written?.();
        resolve();
      });
      if (socket.writableLength <= WRITE_AHEAD) resolve();
    });
  }

  /** Resolves once every byte written so far is in the kernel. */
  #flush(): Promise<void> {
    return this.#write(new Uint8Array(0)).then(() => {
      const socket = this.#socket;
      if (!socket || this.#closed || socket.writableLength === 0) return;
      return new Promise((resolve) => socket.write(new Uint8Array(0), () => resolve()));
    });
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
