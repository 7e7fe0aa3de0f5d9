// The incremental reader: bytes in, frames out, in order, with every structural rule checked as soon as the bytes
// that break it arrive. It holds at most one frame plus one pushed piece: declared sizes are checked against the
// limits before their bytes are awaited. A chunk's data frame is copied once, as its bytes arrive, into the array it
// is handed out in (from the caller's `allocate`, so a pipeline can recycle them).
import {
  AbortedError,
  ForeignStreamError,
  StreamCorruptError,
  StreamDuplicateError,
  StreamLimitError,
  StreamOrderError,
  StreamTrailerMismatchError,
  StreamTrailingDataError,
  StreamTruncatedError,
} from '../errors.ts';
import { DESCRIPTOR_FRAME_SIZE, decodeDescriptor } from './chunk-descriptor.ts';
import {
  DEFAULT_LIMITS,
  ENVELOPE_SIZE,
  HEADER_FIXED_SIZE,
  LZ4_MAGIC,
  MAX_RECORD_PAYLOAD,
  RECORD_MAGIC,
  SKIPPABLE_MAGIC_MAX,
  SKIPPABLE_MAGIC_MIN,
  TAG_CHUNK,
  TAG_HEADER,
  TAG_SECTION,
  TAG_TRAILER,
  ZSTD_MAGIC,
} from './format-constants.ts';
import { decodeHeader } from './header-record.ts';
import { hex, sameBytes, view } from './little-endian.ts';
import { decodeSection } from './section-record.ts';
import { type OrderProblem, StreamOrder } from './stream-order.ts';
import type { ChunkDescriptor, StreamFrame, StreamHeader, StreamLimits, StreamTotals } from './stream-types.ts';
import { decodeTrailer } from './trailer-record.ts';

function describeMagic(magic: number): string {
  if (magic === ZSTD_MAGIC) return 'a zstd frame';
  if (magic === LZ4_MAGIC) return 'an lz4 frame';
  if (magic >= SKIPPABLE_MAGIC_MIN && magic <= SKIPPABLE_MAGIC_MAX) return 'a foreign skippable frame';
  return `magic 0x${magic.toString(16).padStart(8, '0')}`;
}

function orderError(p: OrderProblem, offset: number): Error {
  switch (p.kind) {
    case 'duplicate':
      return new StreamDuplicateError(p.message, offset);
    case 'order':
      return new StreamOrderError(p.message, offset);
    case 'limit':
      return new StreamLimitError(p.message, offset);
    default:
      return new StreamCorruptError(p.message, offset);
  }
}

export interface ParseStreamOptions {
  limits?: StreamLimits | undefined;
  signal?: AbortSignal | undefined;
}

export class StreamParser {
  readonly #limits: StreamLimits;
  #pieces: Uint8Array[] = [];
  #buffered = 0;
  /** Stream offset of the first buffered byte. */
  #offset = 0;
  #header: StreamHeader | undefined;
  #order: StreamOrder | undefined;
  #pending: ChunkDescriptor | undefined;
  /** The pending chunk's data frame as it fills, its fill level and its stream offset. */
  #pendingData: Uint8Array | undefined;
  #pendingFilled = 0;
  #pendingAt = 0;
  /** Some held piece is a view of memory the caller reuses after next() returns undefined (pushTransient). */
  #transient = false;
  readonly #allocate: (size: number) => Uint8Array;
  #totals: StreamTotals | undefined;
  #failed: Error | undefined;

  /**
   * `allocate(size)` gives the array a chunk's data frame is copied into: exactly `size` bytes at offset 0 of its
   * buffer (it may be larger, a recycled one), which the chunk frame then owns. Default: a new array.
   */
  constructor(opts?: { limits?: StreamLimits | undefined; allocate?: ((size: number) => Uint8Array) | undefined }) {
    this.#limits = { ...DEFAULT_LIMITS, ...opts?.limits };
    this.#allocate = opts?.allocate ?? ((size) => new Uint8Array(size));
  }

  get header(): StreamHeader | undefined {
    return this.#header;
  }

  /** Stream offset of the next unparsed byte. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Sections that ended with another size than the exact one their device announced (format 1.1): the data verified
   * chunk by chunk, but the device's own count disagrees. Grows as sections end.
   */
  get warnings(): readonly string[] {
    return this.#order?.sizeWarnings ?? [];
  }

  /** Bytes held, waiting to complete a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The trailer arrived and matched: the stream is complete (data still needs ChunkDecoder verification). */
  get done(): boolean {
    return this.#totals !== undefined;
  }

  /** The totals verified against the trailer (after done). */
  get totals(): StreamTotals | undefined {
    return this.#totals;
  }

  /** Adds bytes; the parser keeps a view of them (the caller must not change them) until it has used them. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    // a plain view: Buffer's slice() would share memory where this parser relies on Uint8Array's copying slice()
    this.#pieces.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#buffered += bytes.length;
  }

  /**
   * Adds bytes the caller reuses once next() has returned undefined (a read buffer): call next() until it does. What
   * the parser still needs of them then (a partial record; a chunk's data is already in its own array) is copied.
   */
  pushTransient(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.push(bytes);
    this.#transient = true;
  }

  /** The next complete frame, or undefined when more bytes are needed. Throws the first problem found. */
  next(): StreamFrame | undefined {
    if (this.#failed) throw this.#failed;
    try {
      const frame = this.#next();
      if (!frame && this.#transient) this.#ownHeldBytes();
      return frame;
    } catch (err) {
      this.#failed = err as Error;
      throw err;
    }
  }

  /** The input has ended: throws unless the stream was complete. */
  end(): void {
    if (this.#failed) throw this.#failed;
    if (this.#totals) return;
    if (this.#pending) {
      const got = this.#pendingFilled + this.#buffered;
      const dataAt = this.#pendingData ? this.#pendingAt : this.#offset;
      throw new StreamTruncatedError(
        `the stream ends inside chunk ${this.#pending.seq} (${got} of its ${this.#pending.encodedLength} data frame bytes)`,
        dataAt - DESCRIPTOR_FRAME_SIZE,
      );
    }
    if (this.#buffered > 0) {
      throw new StreamTruncatedError(`the stream ends inside a frame (${this.#buffered} bytes of it)`, this.#offset);
    }
    if (!this.#header) throw new StreamTruncatedError('the stream is empty', 0);
    throw new StreamTruncatedError('the stream ends without its trailer', this.#offset);
  }

  // Contiguous view of the first n buffered bytes (copying only when they span pieces).
  #peek(n: number): Uint8Array {
    const first = this.#pieces[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let filled = 0;
    for (const piece of this.#pieces) {
      const take = Math.min(piece.length, n - filled);
      out.set(piece.subarray(0, take), filled);
      filled += take;
      if (filled === n) break;
    }
    // keep the joined bytes as one piece so the next peek does not copy again
    this.#drop(n);
    this.#pieces.unshift(out);
    this.#buffered += n;
    this.#offset -= n;
    return out;
  }

  /** Copies the first n buffered bytes into `out` at `at` and drops them. */
  #take(n: number, out: Uint8Array, at: number): void {
    let filled = 0;
    for (const piece of this.#pieces) {
      const take = Math.min(piece.length, n - filled);
      out.set(take === piece.length ? piece : piece.subarray(0, take), at + filled);
      filled += take;
      if (filled === n) break;
    }
    this.#drop(n);
  }

  /** Replaces the held pieces by one copy (they may be views of a caller's buffer about to be reused). */
  #ownHeldBytes(): void {
    this.#transient = false;
    if (this.#buffered === 0) return;
    const own = new Uint8Array(this.#buffered);
    let at = 0;
    for (const piece of this.#pieces) {
      own.set(piece, at);
      at += piece.length;
    }
    this.#pieces = [own];
  }

  #drop(n: number): void {
    this.#buffered -= n;
    this.#offset += n;
    while (n > 0) {
      const first = this.#pieces[0]!;
      if (first.length <= n) {
        this.#pieces.shift();
        n -= first.length;
      } else {
        this.#pieces[0] = first.subarray(n);
        n = 0;
      }
    }
  }

  #next(): StreamFrame | undefined {
    if (this.#totals) {
      if (this.#buffered > 0) throw new StreamTrailingDataError('bytes follow the trailer', this.#offset);
      return undefined;
    }
    if (this.#pending) return this.#chunkData(this.#pending);
    if (this.#buffered < ENVELOPE_SIZE) return undefined;
    const at = this.#offset;
    const env = view(this.#peek(ENVELOPE_SIZE));
    const magic = env.getUint32(0, true);
    const size = env.getUint32(4, true);
    if (!this.#header) return this.#headerFrame(magic, size, at);
    if (magic !== RECORD_MAGIC) {
      if (magic === ZSTD_MAGIC || magic === LZ4_MAGIC) {
        throw new StreamCorruptError('a data frame without its chunk descriptor', at);
      }
      throw new StreamCorruptError(`unexpected ${describeMagic(magic)}`, at);
    }
    if (size < 8 || size > MAX_RECORD_PAYLOAD) throw new StreamCorruptError(`record of ${size} bytes`, at);
    if (this.#buffered < ENVELOPE_SIZE + size) return undefined;
    const payload = this.#peek(ENVELOPE_SIZE + size).subarray(ENVELOPE_SIZE);
    const tag = view(payload).getUint32(0, true);
    const header = this.#header;
    const order = this.#order!;
    switch (tag) {
      case TAG_CHUNK: {
        const d = decodeDescriptor(payload, header.streamId, at);
        const problem = order.checkChunk(d, header.maxFrameSize);
        if (problem) throw orderError(problem, at);
        this.#drop(ENVELOPE_SIZE + size);
        this.#pending = d;
        return this.#chunkData(d);
      }
      case TAG_SECTION: {
        const section = decodeSection(payload, header.streamId, at);
        const problem = order.checkSection(section);
        if (problem) throw orderError(problem, at);
        order.acceptSection(section);
        this.#drop(ENVELOPE_SIZE + size);
        return { type: 'section', offset: at, length: ENVELOPE_SIZE + size, section };
      }
      case TAG_TRAILER: {
        const trailer = decodeTrailer(payload, at);
        if (!sameBytes(trailer.streamId, header.streamId)) {
          throw new StreamTrailerMismatchError(
            `the trailer belongs to stream ${hex(trailer.streamId)}, not to this stream ${hex(header.streamId)}`,
            at,
          );
        }
        const ours = order.totals(at);
        const diffs: string[] = [];
        for (const key of [
          'rawBytes',
          'chunkCount',
          'zeroChunks',
          'storedChunks',
          'sectionCount',
          'encodedBytes',
          'digest',
        ] as const) {
          if (trailer[key] !== ours[key]) diffs.push(`${key} ${trailer[key]} (stream has ${ours[key]})`);
        }
        if (diffs.length > 0) {
          throw new StreamTrailerMismatchError(`the trailer does not match the stream: ${diffs.join(', ')}`, at);
        }
        order.closeSection();
        this.#drop(ENVELOPE_SIZE + size);
        this.#totals = ours;
        return { type: 'trailer', offset: at, length: ENVELOPE_SIZE + size, trailer };
      }
      case TAG_HEADER: {
        const again = decodeHeader(payload, at, this.#limits);
        throw new StreamDuplicateError(
          sameBytes(again.streamId, header.streamId)
            ? 'the header appears again'
            : `a header of another stream (${hex(again.streamId)}) appears inside this one`,
          at,
        );
      }
      default:
        throw new StreamCorruptError(`unknown record tag 0x${tag.toString(16)}`, at);
    }
  }

  #headerFrame(magic: number, size: number, at: number): StreamFrame | undefined {
    if (magic !== RECORD_MAGIC) {
      throw new ForeignStreamError(`not a vfio-migrate stream: it starts with ${describeMagic(magic)}`, at);
    }
    const maxHeader = HEADER_FIXED_SIZE + (this.#limits.maxMetadataBytes ?? 0) + MAX_RECORD_PAYLOAD;
    if (size < 8) throw new StreamCorruptError(`record of ${size} bytes`, at);
    if (this.#buffered >= ENVELOPE_SIZE + 4) {
      const tag = view(this.#peek(ENVELOPE_SIZE + 4)).getUint32(ENVELOPE_SIZE, true);
      if (tag === TAG_CHUNK || tag === TAG_SECTION || tag === TAG_TRAILER) {
        throw new StreamOrderError('the stream does not start with its header', at);
      }
      if (tag !== TAG_HEADER) throw new ForeignStreamError('not a vfio-migrate stream: unknown first record', at);
    }
    if (size > maxHeader) throw new StreamLimitError(`header record of ${size} bytes exceeds ${maxHeader}`, at);
    if (this.#buffered < ENVELOPE_SIZE + size) return undefined;
    const payload = this.#peek(ENVELOPE_SIZE + size).subarray(ENVELOPE_SIZE);
    const header = decodeHeader(payload, at, this.#limits);
    this.#header = header;
    this.#order = new StreamOrder(Math.min(header.maxChunkSize, this.#limits.maxChunkSize ?? Infinity));
    this.#drop(ENVELOPE_SIZE + size);
    return { type: 'header', offset: at, length: ENVELOPE_SIZE + size, header };
  }

  #chunkData(d: ChunkDescriptor): StreamFrame | undefined {
    const header = this.#header!;
    const n = d.encodedLength;
    let data = this.#pendingData;
    if (!data) {
      // the first bytes name the frame's kind: checked before anything is copied (or a frame of under 4 bytes,
      // which the decoder rejects, is awaited whole)
      if (this.#buffered < Math.min(4, n)) return undefined;
      if (n >= 4) {
        const magic = view(this.#peek(4)).getUint32(0, true);
        const expected = header.codec === 'lz4' ? LZ4_MAGIC : ZSTD_MAGIC;
        if (magic !== expected) {
          throw new StreamCorruptError(
            `chunk ${d.seq}: expected ${describeMagic(expected)} after its descriptor, found ${describeMagic(magic)}`,
            this.#offset,
          );
        }
      }
      data = this.#allocate(n);
      if (data.length !== n || data.byteOffset !== 0) {
        throw new RangeError(`allocate(${n}) gave ${data.length} bytes at offset ${data.byteOffset}`);
      }
      this.#pendingData = data;
      this.#pendingFilled = 0;
      this.#pendingAt = this.#offset;
    }
    // copied as it arrives: the parser never holds more of a data frame than the array it goes out in
    const take = Math.min(this.#buffered, n - this.#pendingFilled);
    if (take > 0) this.#take(take, data, this.#pendingFilled);
    this.#pendingFilled += take;
    if (this.#pendingFilled < n) return undefined;
    const dataOffset = this.#pendingAt;
    this.#pendingData = undefined;
    this.#pendingFilled = 0;
    this.#pending = undefined;
    this.#order!.acceptChunk(d);
    const offset = dataOffset - DESCRIPTOR_FRAME_SIZE;
    return {
      type: 'chunk',
      offset,
      length: DESCRIPTOR_FRAME_SIZE + n,
      chunk: { descriptor: d, data, dataOffset },
    };
  }
}

/**
 * Frames of a stream read from `source` (any async or sync iterable of byte arrays: Node streams, Web
 * ReadableStreams, generators). Structure only: see StreamParser; chunk data still go through ChunkDecoder.
 */
export async function* parseStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts?: ParseStreamOptions,
): AsyncGenerator<StreamFrame> {
  const parser = new StreamParser(opts);
  const signal = opts?.signal;
  for await (const piece of source) {
    if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
    parser.push(piece);
    for (let f = parser.next(); f; f = parser.next()) yield f;
  }
  parser.end();
}
