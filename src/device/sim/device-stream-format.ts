// The simulated device's own migration data: opaque to everything above the device, like a real driver's, and
// checked by the destination the way a driver checks what it is given.
//
//   header  (64)  magic "VFMSIMDS", u16 version, u16 header size, u32 page size, u32 page count, u32 migration flags,
//                 u32 seed, u32 max pages per record, char[16] profile, 16 reserved
//   record        u32 tag "PGES", u32 page count n (1..max), u32 sequence, u32 reserved,
//                 n x (u32 page index, u32 generation), n x 4096 bytes of page data
//   trailer (32)  u32 tag "END!", u32 reserved, u64 record count, u64 bytes before the trailer,
//                 u64 XXH3-64 (seed 0) of every byte before this field (the trailer's first 24 bytes included)
//
// All integers little-endian. Nothing may follow the trailer. Version 1 ended in a SHA-256 of 32 bytes; XXH3 (the
// wasm core's) detects the same truncation, reordering and corruption at a small fraction of the cost, and the
// destination still regenerates the head of every page it is given.
import type { Xxh3Stream } from '../../core/checksums.ts';
import type { SimRejectReason } from '../../errors.ts';
import { HEAD_WORDS } from './page-content.ts';
import { PAGE_SIZE } from './profiles.ts';

export const STREAM_MAGIC = 'VFMSIMDS';
export const STREAM_VERSION = 2;
export const HEADER_SIZE = 64;
export const RECORD_HEADER_SIZE = 16;
export const ENTRY_SIZE = 8;
export const TRAILER_SIZE = 32;
/** Trailer bytes covered by the hash (all but the hash itself). */
const TRAILER_HASHED = 24;
/** Pages per record (128 KiB of data): the device streams in chunks, as mlx5 does with larger ones. */
export const MAX_RECORD_PAGES = 32;

const TAG_PAGES = 0x53454750; // "PGES"
const TAG_END = 0x21444e45; // "END!"
const HEAD_BYTES = HEAD_WORDS * 4;

export interface StreamIdentity {
  profile: string;
  pageCount: number;
  flags: number;
  seed: number;
}

export function recordSize(pages: number): number {
  return RECORD_HEADER_SIZE + pages * (ENTRY_SIZE + PAGE_SIZE);
}

/** Bytes of header plus records when every page is sent once in order (the initial data). */
export function initialDataSize(pageCount: number): number {
  const full = Math.floor(pageCount / MAX_RECORD_PAGES);
  const rest = pageCount % MAX_RECORD_PAGES;
  return HEADER_SIZE + full * recordSize(MAX_RECORD_PAGES) + (rest > 0 ? recordSize(rest) : 0);
}

/** The whole stream of a device read in one STOP_COPY with nothing re-sent. */
export function fullStreamSize(pageCount: number): number {
  return initialDataSize(pageCount) + TRAILER_SIZE;
}

let hashClass: typeof Xxh3Stream | null = null;
let hashLoading: Promise<void> | null = null;

/**
 * Loads the wasm core's XXH3 in this thread (once). A device starts it as soon as it is up, off its start-up path,
 * and awaits it before it opens a session: compiling the core must not delay a device that is only opened.
 */
export function loadStreamHash(): Promise<void> {
  hashLoading ??= import('../../core/checksums.ts').then((m) => {
    // The first stream instantiates the core; later ones reuse it.
    new m.Xxh3Stream(0n).dispose();
    hashClass = m.Xxh3Stream;
  });
  return hashLoading;
}

/** The stream's integrity hash, fed in stream order (the wasm core's XXH3-64); after loadStreamHash(). */
export function newStreamHash(): Xxh3Stream {
  if (!hashClass) throw new Error('internal: the stream hash is used before loadStreamHash() resolved');
  return new hashClass(0n);
}

/** Writes the header at byte `at` of `out`. */
export function writeHeader(out: Uint8Array, at: number, id: StreamIdentity): void {
  const v = new DataView(out.buffer, out.byteOffset + at, HEADER_SIZE);
  out.fill(0, at, at + HEADER_SIZE);
  out.set(new TextEncoder().encode(STREAM_MAGIC), at);
  v.setUint16(8, STREAM_VERSION, true);
  v.setUint16(10, HEADER_SIZE, true);
  v.setUint32(12, PAGE_SIZE, true);
  v.setUint32(16, id.pageCount, true);
  v.setUint32(20, id.flags, true);
  v.setUint32(24, id.seed, true);
  v.setUint32(28, MAX_RECORD_PAGES, true);
  out.set(new TextEncoder().encode(id.profile.slice(0, 16)), at + 32);
}

/**
 * Writes a record's header at word `at` of `words` (a 4-byte aligned view of a write buffer); the caller fills its
 * `pages` entries from word `at + 4` and its page data after them.
 */
export function writeRecordHeader(words: Int32Array, at: number, pages: number, sequence: number): void {
  words[at] = TAG_PAGES;
  words[at + 1] = pages;
  words[at + 2] = sequence | 0;
  words[at + 3] = 0;
}

/** The trailer, its hash taken from `hash` (which has everything before the trailer); `hash` takes its first bytes. */
export function encodeTrailer(records: number, bytes: number, hash: Xxh3Stream): Uint8Array {
  const out = new Uint8Array(TRAILER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, TAG_END, true);
  v.setBigUint64(8, BigInt(records), true);
  v.setBigUint64(16, BigInt(bytes), true);
  hash.update(out.subarray(0, TRAILER_HASHED));
  v.setBigUint64(TRAILER_HASHED, hash.digest(), true);
  return out;
}

/** Why a stream is refused, and where. */
export class StreamProblem extends Error {
  readonly reason: SimRejectReason;
  readonly offset: number;
  constructor(reason: SimRejectReason, offset: number, message: string) {
    super(message);
    this.reason = reason;
    this.offset = offset;
  }
}

export interface StreamParserHooks {
  /** The header parsed; throw a StreamProblem to refuse it (foreign device). */
  header(id: StreamIdentity, version: number): void;
  /** A record's (page, generation) pairs, before its data; `offset` is the record's. */
  record(entries: Uint32Array, offset: number): void;
  /** The first HEAD_WORDS words of the record's `index`th page (its entry is at `2 * index` of record's entries). */
  pageHead(index: number, head: Int32Array, offset: number): void;
}

const Phase = {
  HEADER: 0,
  RECORD_HEAD: 1,
  ENTRIES: 2,
  PAGE_HEAD: 3,
  PAGE_BODY: 4,
  TRAILER_BYTES: 5,
  TRAILER_HASH: 6,
  DONE: 7,
} as const;

/**
 * Incremental parser: accepts the stream cut anywhere and reads it in place. Only the small units (header, record
 * headers, entries, page heads, trailer) are gathered into a scratch buffer; page data is hashed straight from the
 * caller's chunk. Checks framing, sequence, the trailer's counts and the XXH3 of the stream. The first problem
 * throws a StreamProblem; the parser then refuses everything.
 */
export class DeviceStreamParser {
  readonly #hooks: StreamParserHooks;
  /** Large enough for the biggest small unit (a full record's entries). */
  readonly #buf = new Uint8Array(Math.max(HEADER_SIZE, MAX_RECORD_PAGES * ENTRY_SIZE));
  readonly #words = new Uint32Array(this.#buf.buffer);
  readonly #head = new Int32Array(this.#buf.buffer, 0, HEAD_WORDS);
  readonly #view = new DataView(this.#buf.buffer);
  readonly #entries = new Uint32Array(MAX_RECORD_PAGES * 2);
  readonly #hash = newStreamHash();
  #phase: number = Phase.HEADER;
  #need = HEADER_SIZE;
  #have = 0;
  #offset = 0;
  #unitStart = 0;
  #recordStart = 0;
  #records = 0;
  #pages = 0;
  #page = 0;
  #problem: StreamProblem | null = null;

  constructor(hooks: StreamParserHooks) {
    this.#hooks = hooks;
  }

  /** Bytes taken so far. */
  get offset(): number {
    return this.#offset;
  }

  get complete(): boolean {
    return this.#phase === Phase.DONE;
  }

  get problem(): StreamProblem | null {
    return this.#problem;
  }

  push(chunk: Uint8Array): void {
    if (this.#problem) throw this.#problem;
    try {
      let at = 0;
      // Bytes of `chunk` from here on are hashed in one call when the chunk is done (or the hash field starts).
      let hashFrom = 0;
      while (at < chunk.length) {
        const phase = this.#phase;
        if (phase === Phase.DONE) {
          throw new StreamProblem(
            'over-long',
            this.#offset,
            `data continues after the trailer at offset ${this.#offset}`,
          );
        }
        const take = Math.min(this.#need - this.#have, chunk.length - at);
        if (phase === Phase.PAGE_BODY) {
          // The bulk of the stream: only hashed, never copied.
          this.#have += take;
        } else {
          if (phase === Phase.TRAILER_HASH && hashFrom < chunk.length) {
            // The hash field is the one part the hash does not cover.
            if (at > hashFrom) this.#hash.update(chunk.subarray(hashFrom, at));
            hashFrom = chunk.length;
          }
          this.#buf.set(chunk.subarray(at, at + take), this.#have);
          this.#have += take;
        }
        this.#offset += take;
        at += take;
        if (this.#have === this.#need) this.#unit();
      }
      if (hashFrom < chunk.length) this.#hash.update(chunk.subarray(hashFrom));
    } catch (err) {
      if (err instanceof StreamProblem) this.#problem = err;
      throw err;
    }
  }

  #unit(): void {
    const buf = this.#buf;
    const v = this.#view;
    const start = this.#unitStart;
    switch (this.#phase) {
      case Phase.HEADER: {
        const magic = new TextDecoder().decode(buf.subarray(0, 8));
        if (magic !== STREAM_MAGIC) {
          throw new StreamProblem('foreign', 0, 'not a simulated device stream (bad magic)');
        }
        const version = v.getUint16(8, true);
        if (version !== STREAM_VERSION || v.getUint16(10, true) !== HEADER_SIZE) {
          throw new StreamProblem(
            'foreign',
            8,
            `stream format version ${version}; this device reads ${STREAM_VERSION}`,
          );
        }
        if (v.getUint32(12, true) !== PAGE_SIZE || v.getUint32(28, true) !== MAX_RECORD_PAGES) {
          throw new StreamProblem('foreign', 12, 'stream from a device with another page or record size');
        }
        const name = new TextDecoder().decode(buf.subarray(32, 48)).replace(/\0+$/, '');
        this.#hooks.header(
          {
            profile: name,
            pageCount: v.getUint32(16, true),
            flags: v.getUint32(20, true),
            seed: v.getUint32(24, true),
          },
          version,
        );
        this.#expect(Phase.RECORD_HEAD, RECORD_HEADER_SIZE);
        return;
      }
      case Phase.RECORD_HEAD: {
        const tag = v.getUint32(0, true);
        if (tag === TAG_END) {
          const records = v.getBigUint64(8, true);
          if (records !== BigInt(this.#records)) {
            throw new StreamProblem(
              'corrupt',
              start,
              `trailer counts ${records} records, the stream had ${this.#records}`,
            );
          }
          this.#expect(Phase.TRAILER_BYTES, 8);
          return;
        }
        if (tag !== TAG_PAGES) {
          throw new StreamProblem('malformed', start, `unknown record tag 0x${tag.toString(16)} at offset ${start}`);
        }
        const pages = v.getUint32(4, true);
        const seq = v.getUint32(8, true);
        if (pages < 1 || pages > MAX_RECORD_PAGES) {
          throw new StreamProblem('malformed', start, `record at offset ${start} claims ${pages} pages`);
        }
        if (seq !== this.#records >>> 0) {
          throw new StreamProblem('malformed', start, `record ${seq} where record ${this.#records} was due`);
        }
        this.#pages = pages;
        this.#recordStart = start;
        this.#expect(Phase.ENTRIES, pages * ENTRY_SIZE);
        return;
      }
      case Phase.ENTRIES: {
        // Kept aside: the page heads that follow reuse the scratch buffer.
        const entries = this.#entries.subarray(0, this.#pages * 2);
        entries.set(this.#words.subarray(0, this.#pages * 2));
        this.#hooks.record(entries, this.#recordStart);
        this.#page = 0;
        this.#expect(Phase.PAGE_HEAD, HEAD_BYTES);
        return;
      }
      case Phase.PAGE_HEAD: {
        this.#hooks.pageHead(this.#page, this.#head, this.#recordStart);
        this.#expect(Phase.PAGE_BODY, PAGE_SIZE - HEAD_BYTES);
        return;
      }
      case Phase.PAGE_BODY: {
        this.#page++;
        if (this.#page < this.#pages) this.#expect(Phase.PAGE_HEAD, HEAD_BYTES);
        else {
          this.#records++;
          this.#expect(Phase.RECORD_HEAD, RECORD_HEADER_SIZE);
        }
        return;
      }
      case Phase.TRAILER_BYTES: {
        const bytes = v.getBigUint64(0, true);
        const before = this.#offset - 16 - 8;
        if (bytes !== BigInt(before)) {
          throw new StreamProblem('corrupt', before, `trailer counts ${bytes} bytes, the stream had ${before}`);
        }
        this.#expect(Phase.TRAILER_HASH, 8);
        return;
      }
      case Phase.TRAILER_HASH: {
        if (v.getBigUint64(0, true) !== this.#hash.digest()) {
          throw new StreamProblem(
            'corrupt',
            this.#offset - TRAILER_SIZE,
            'integrity check failed: the XXH3 of the stream does not match its trailer',
          );
        }
        this.#phase = Phase.DONE;
        return;
      }
    }
  }

  #expect(phase: number, need: number): void {
    this.#phase = phase;
    this.#need = need;
    this.#have = 0;
    this.#unitStart = this.#offset;
  }
}
