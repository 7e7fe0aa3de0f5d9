// The writer side's bookkeeping (one per stream, on the thread that keeps order): header first, sections, chunks
// in sequence, then the trailer with the totals and digest. It produces only the small record frames; chunk bytes
// come from ChunkEncoder (in workers) and are only accounted here.
import { StreamWriterStateError } from '../errors.ts';
import { encodeHeader } from './header-record.ts';
import { encodeSection } from './section-record.ts';
import { StreamOrder } from './stream-order.ts';
import type { EncodedChunk, SectionKind, StreamHeader, StreamTotals } from './stream-types.ts';
import { encodeTrailer } from './trailer-record.ts';

export class StreamWriter {
  readonly header: StreamHeader;
  readonly #order: StreamOrder;
  #state: 'new' | 'open' | 'closed' = 'new';
  #encodedBytes = 0;

  constructor(header: StreamHeader) {
    this.header = header;
    this.#order = new StreamOrder(header.maxChunkSize);
  }

  /** The sequence number the next chunk must carry. */
  get nextSeq(): number {
    return this.#order.nextSeq;
  }

  /** The raw offset the next chunk must carry. */
  get nextRawOffset(): number {
    return this.#order.nextRawOffset;
  }

  /** The header frame; first, once. */
  headerBytes(): Uint8Array {
    if (this.#state !== 'new') throw new StreamWriterStateError('the header was already written');
    this.#state = 'open';
    return this.#count(encodeHeader(this.header));
  }

  /**
   * A section marker frame: pre-copy rounds first, then one stop-copy section (the only one for plain data).
   * `exact`: the device vouches that the part holds exactly `expectedBytes`.
   */
  beginSection(kind: SectionKind, expectedBytes: number | null = null, exact = false): Uint8Array {
    this.#requireOpen();
    const marker = {
      kind,
      index: this.#order.sectionCount,
      firstSeq: this.#order.nextSeq,
      rawOffset: this.#order.nextRawOffset,
      expectedBytes,
      exact: exact && expectedBytes !== null,
    };
    const problem = this.#order.checkSection(marker);
    if (problem) throw new StreamWriterStateError(problem.message);
    this.#order.acceptSection(marker);
    return this.#count(encodeSection(this.header.streamId, marker));
  }

  /** Accounts for an encoded chunk about to be written; chunks must come in sequence. */
  addChunk(chunk: EncodedChunk): void {
    this.#requireOpen();
    const problem = this.#order.checkChunk(chunk.descriptor, this.header.maxFrameSize);
    if (problem) throw new StreamWriterStateError(problem.message);
    this.#order.acceptChunk(chunk.descriptor);
    this.#encodedBytes += chunk.bytes.length;
  }

  totals(): StreamTotals {
    return this.#order.totals(this.#encodedBytes);
  }

  /** The trailer frame; last, once. */
  trailerBytes(): Uint8Array {
    this.#requireOpen();
    this.#state = 'closed';
    return encodeTrailer({ streamId: this.header.streamId, ...this.totals() });
  }

  #requireOpen(): void {
    if (this.#state === 'new') throw new StreamWriterStateError('write the header first');
    if (this.#state === 'closed') throw new StreamWriterStateError('the trailer was already written');
  }

  #count(frame: Uint8Array): Uint8Array {
    this.#encodedBytes += frame.length;
    return frame;
  }
}
