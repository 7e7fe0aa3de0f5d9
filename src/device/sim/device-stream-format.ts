// The simulated device's own migration data: opaque to everything above the device, like a real driver's, and
// checked by the destination the way a driver checks what it is given.
//
//   header  (64)  magic "VFMSIMDS", u16 version, u16 header size, u32 page size, u32 page count, u32 migration flags,
//                 u32 seed, u32 max pages per record, char[16] profile, 16 reserved
//   record        u32 tag "PGES", u32 page count n (1..max), u32 sequence, u32 reserved,
//                 n x (u32 page index, u32 generation), n x 4096 bytes of page data
//   trailer (32)  u32 tag "END!", u32 reserved, u64 record count, u64 bytes before the trailer,
//                 u64 XXH3-64 of the framing: the header, then each record's header and entries, in order
//
// All integers little-endian. Nothing may follow the trailer. The destination checks every page it is given against
// the bytes it must hold (regenerated), so the trailer's hash covers only what that check does not: the framing.
// Version 2 hashed the page data too, which repeated the page check at 70-85 ms per 512 MiB per end; it is still read.
// Version 1 ended with a SHA-256 (ten times the cost of XXH3) and is refused.

import { Xxh3Stream } from '../../core/checksums.ts';
import type { SimRejectReason } from '../../errors.ts';
import { PAGE_SIZE } from './profiles.ts';

export const STREAM_MAGIC = 'VFMSIMDS';
export const STREAM_VERSION = 3;
/** The previous version, still read: its trailer hashes every byte before it. */
const STREAM_VERSION_HASHED_PAGES = 2;
export const HEADER_SIZE = 64;
export const RECORD_HEADER_SIZE = 16;
export const ENTRY_SIZE = 8;
export const TRAILER_SIZE = 32;
/** Pages per record (128 KiB of data): the device streams in chunks, as mlx5 does with larger ones. */
export const MAX_RECORD_PAGES = 32;

const TAG_PAGES = 0x53454750; // "PGES"
const TAG_END = 0x21444e45; // "END!"

export interface StreamIdentity {
  profile: string;
  pageCount: number;
  flags: number;
  seed: number;
}

export function recordSize(pages: number): number {
  return RECORD_HEADER_SIZE + pages * (ENTRY_SIZE + PAGE_SIZE);
}

/** The part of a record of `pages` pages the trailer's hash covers: its header and entries. */
export function recordFramingSize(pages: number): number {
  return RECORD_HEADER_SIZE + pages * ENTRY_SIZE;
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

export function encodeHeader(id: StreamIdentity): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(STREAM_MAGIC), 0);
  v.setUint16(8, STREAM_VERSION, true);
  v.setUint16(10, HEADER_SIZE, true);
  v.setUint32(12, PAGE_SIZE, true);
  v.setUint32(16, id.pageCount, true);
  v.setUint32(20, id.flags, true);
  v.setUint32(24, id.seed, true);
  v.setUint32(28, MAX_RECORD_PAGES, true);
  out.set(new TextEncoder().encode(id.profile.slice(0, 16)), 32);
  return out;
}

/**
 * A record with room for `pages` entries: fill the entries through the returned view and the pages from byte `dataAt`
 * of `bytes`. It is built in `into` (4-byte aligned, at least recordSize(pages) long) when given, so a producer can
 * reuse its buffers.
 */
export function allocRecord(
  pages: number,
  sequence: number,
  into?: Uint8Array,
): { bytes: Uint8Array; entries: Uint32Array; dataAt: number } {
  const size = recordSize(pages);
  const bytes = into ? into.subarray(0, size) : new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, size / 4);
  words[0] = TAG_PAGES;
  words[1] = pages;
  words[2] = sequence >>> 0;
  words[3] = 0;
  const entries = words.subarray(RECORD_HEADER_SIZE / 4, RECORD_HEADER_SIZE / 4 + pages * 2);
  return { bytes, entries, dataAt: recordFramingSize(pages) };
}

export function encodeTrailer(records: number, bytes: number, xxh3: bigint): Uint8Array {
  const out = new Uint8Array(TRAILER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, TAG_END, true);
  v.setBigUint64(8, BigInt(records), true);
  v.setBigUint64(16, BigInt(bytes), true);
  v.setBigUint64(24, xxh3, true);
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
  /** One record: `entries` holds (page, generation) pairs, `data` the pages (4-byte aligned). */
  record(entries: Uint32Array, data: Uint8Array, offset: number): void;
}

const Phase = { HEADER: 0, RECORD_HEAD: 1, RECORD_BODY: 2, TRAILER_BODY: 3, DONE: 4 } as const;

/**
 * Incremental parser: accepts the stream cut anywhere, holds at most one record, checks framing, sequence and the
 * trailer's counts and its hash of the framing. The first problem throws a StreamProblem; the parser then refuses everything.
 */
export class DeviceStreamParser {
  readonly #hooks: StreamParserHooks;
  readonly #buf = new Uint8Array(recordSize(MAX_RECORD_PAGES));
  readonly #hash = new Xxh3Stream(0n);
  /** Where a refused stream's rest is read and dropped: a read as large as a normal one, so draining stays cheap. */
  readonly #spill = new Uint8Array(64 * 1024);
  #phase: number = Phase.HEADER;
  #need = HEADER_SIZE;
  #have = 0;
  #offset = 0;
  #unitStart = 0;
  #records = 0;
  #pages = 0;
  #problem: StreamProblem | null = null;
  /** A version 2 stream: the trailer's hash covers the page data too. */
  #hashedPages = false;

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

  /**
   * Where the next bytes of the stream go: the rest of the unit being read, so a reader may have the kernel read into
   * it (then call took()). After the trailer, or once refused, a scratch whose bytes took() refuses.
   */
  space(): Uint8Array {
    if (this.#phase === Phase.DONE || this.#problem) return this.#spill;
    return this.#buf.subarray(this.#have, this.#need);
  }

  /** `n` bytes were written at the start of the last space(). */
  took(n: number): void {
    if (this.#problem) throw this.#problem;
    if (n === 0) return;
    try {
      if (this.#phase === Phase.DONE) {
        throw new StreamProblem(
          'over-long',
          this.#offset,
          `data continues after the trailer at offset ${this.#offset}`,
        );
      }
      this.#have += n;
      this.#offset += n;
      if (this.#have === this.#need) this.#unit();
    } catch (err) {
      if (err instanceof StreamProblem) this.#problem = err;
      throw err;
    }
  }

  #unit(): void {
    const buf = this.#buf;
    const v = new DataView(buf.buffer, 0, this.#need);
    const start = this.#unitStart;
    switch (this.#phase) {
      case Phase.HEADER: {
        const magic = new TextDecoder().decode(buf.subarray(0, 8));
        if (magic !== STREAM_MAGIC) {
          throw new StreamProblem('foreign', 0, 'not a simulated device stream (bad magic)');
        }
        const version = v.getUint16(8, true);
        if (
          (version !== STREAM_VERSION && version !== STREAM_VERSION_HASHED_PAGES) ||
          v.getUint16(10, true) !== HEADER_SIZE
        ) {
          throw new StreamProblem(
            'foreign',
            8,
            `stream format version ${version}; this device reads ${STREAM_VERSION_HASHED_PAGES} and ${STREAM_VERSION}`,
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
        this.#hashedPages = version === STREAM_VERSION_HASHED_PAGES;
        this.#hash.update(buf.subarray(0, HEADER_SIZE));
        this.#expect(Phase.RECORD_HEAD, RECORD_HEADER_SIZE);
        return;
      }
      case Phase.RECORD_HEAD: {
        const tag = v.getUint32(0, true);
        if (tag === TAG_END) {
          this.#expect(Phase.TRAILER_BODY, TRAILER_SIZE, true);
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
        this.#expect(Phase.RECORD_BODY, recordSize(pages), true);
        return;
      }
      case Phase.RECORD_BODY: {
        const n = this.#pages;
        const words = new Uint32Array(buf.buffer, 0, this.#need / 4);
        const entries = words.subarray(RECORD_HEADER_SIZE / 4, RECORD_HEADER_SIZE / 4 + n * 2);
        const data = buf.subarray(RECORD_HEADER_SIZE + n * ENTRY_SIZE, this.#need);
        this.#hooks.record(entries, data, start);
        this.#hash.update(buf.subarray(0, this.#hashedPages ? this.#need : recordFramingSize(n)));
        this.#records++;
        this.#expect(Phase.RECORD_HEAD, RECORD_HEADER_SIZE);
        return;
      }
      case Phase.TRAILER_BODY: {
        const records = v.getBigUint64(8, true);
        const bytes = v.getBigUint64(16, true);
        if (records !== BigInt(this.#records) || bytes !== BigInt(start)) {
          throw new StreamProblem(
            'corrupt',
            start,
            `trailer counts ${records} records / ${bytes} bytes, the stream had ${this.#records} / ${start}`,
          );
        }
        if (v.getBigUint64(24, true) !== this.#hash.digest()) {
          throw new StreamProblem('corrupt', start, 'integrity check failed: XXH3-64 of the stream does not match');
        }
        this.#phase = Phase.DONE;
        return;
      }
    }
  }

  /** Next unit; `keep` keeps the bytes already read (a record's or trailer's first 16). */
  #expect(phase: number, need: number, keep = false): void {
    this.#phase = phase;
    this.#need = need;
    if (!keep) {
      this.#have = 0;
      this.#unitStart = this.#offset;
    }
  }
}
