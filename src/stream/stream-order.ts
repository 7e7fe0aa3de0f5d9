// The ordering rules both ends share: sections numbered from 0, pre-copy rounds before the one STOP_COPY part,
// chunks numbered from 0 with contiguous raw offsets and always inside a section; the running totals and digest.
import { StreamDigest } from './stream-digest.ts';
import type { ChunkDescriptor, SectionKind, SectionMarker, StreamTotals } from './stream-types.ts';

export type OrderProblem =
  | { kind: 'duplicate'; message: string }
  | { kind: 'order'; message: string }
  | { kind: 'limit'; message: string }
  | { kind: 'corrupt'; message: string };

export class StreamOrder {
  readonly #maxChunk: number;
  readonly #digest = new StreamDigest();
  nextSeq = 0;
  nextRawOffset = 0;
  sectionCount = 0;
  zeroChunks = 0;
  storedChunks = 0;
  lastSection: SectionKind | undefined;
  /** Sections whose size differs from the exact size their device announced (see `closeSection`). */
  readonly sizeWarnings: string[] = [];
  #open: SectionMarker | null = null;

  constructor(maxChunk: number) {
    this.#maxChunk = maxChunk;
  }

  /** What is wrong with `marker` as the next section, or undefined. */
  checkSection(marker: SectionMarker): OrderProblem | undefined {
    if (marker.index < this.sectionCount) {
      return { kind: 'duplicate', message: `section ${marker.index} appears again` };
    }
    if (marker.index > this.sectionCount) {
      return { kind: 'order', message: `section ${marker.index} arrives where section ${this.sectionCount} belongs` };
    }
    if (this.lastSection === 'stop-copy') {
      return { kind: 'order', message: `a ${marker.kind} section follows the STOP_COPY section, which must be last` };
    }
    if (marker.firstSeq !== this.nextSeq || marker.rawOffset !== this.nextRawOffset) {
      return {
        kind: 'order',
        message: `section ${marker.index} starts at chunk ${marker.firstSeq}, byte ${marker.rawOffset}; expected chunk ${this.nextSeq}, byte ${this.nextRawOffset}`,
      };
    }
    return undefined;
  }

  acceptSection(marker: SectionMarker): void {
    this.closeSection();
    this.sectionCount++;
    this.lastSection = marker.kind;
    this.#open = marker;
  }

  /**
   * Ends the open section (a new section or the trailer follows). A section whose device vouched for an exact size
   * and that holds another adds a warning: its data may be incomplete even though every chunk verified.
   */
  closeSection(): void {
    const m = this.#open;
    this.#open = null;
    if (!m?.exact || m.expectedBytes === null) return;
    const got = this.nextRawOffset - m.rawOffset;
    if (got !== m.expectedBytes) {
      this.sizeWarnings.push(
        `section ${m.index} (${m.kind}) holds ${got} bytes, but the device announced exactly ${m.expectedBytes}: ` +
          'the saved state may be incomplete or corrupt',
      );
    }
  }

  /** What is wrong with `d` as the next chunk, or undefined. */
  checkChunk(d: ChunkDescriptor, maxFrameSize: number): OrderProblem | undefined {
    if (this.sectionCount === 0) return { kind: 'order', message: `chunk ${d.seq} comes before any section marker` };
    if (d.seq < this.nextSeq) return { kind: 'duplicate', message: `chunk ${d.seq} appears again` };
    if (d.seq > this.nextSeq) {
      return {
        kind: 'order',
        message: `chunk ${d.seq} arrives where chunk ${this.nextSeq} belongs (missing or reordered)`,
      };
    }
    if (d.rawOffset !== this.nextRawOffset) {
      return {
        kind: 'order',
        message: `chunk ${d.seq} claims raw offset ${d.rawOffset}, expected ${this.nextRawOffset}`,
      };
    }
    if (d.rawLength > this.#maxChunk) {
      return {
        kind: 'limit',
        message: `chunk ${d.seq} declares ${d.rawLength} raw bytes, more than the limit of ${this.#maxChunk} (decompression bomb?)`,
      };
    }
    if (d.encodedLength > maxFrameSize) {
      return {
        kind: 'limit',
        message: `chunk ${d.seq} declares a ${d.encodedLength}-byte frame, more than ${maxFrameSize}`,
      };
    }
    if (d.rawLength === 0 || d.encodedLength === 0) return { kind: 'corrupt', message: `chunk ${d.seq} is empty` };
    return undefined;
  }

  acceptChunk(d: ChunkDescriptor): void {
    this.nextSeq++;
    this.nextRawOffset += d.rawLength;
    if (d.zero) this.zeroChunks++;
    if (d.stored) this.storedChunks++;
    this.#digest.add(d.rawLength, d.rawHash);
  }

  totals(encodedBytes: number): StreamTotals {
    return {
      rawBytes: this.nextRawOffset,
      chunkCount: this.nextSeq,
      zeroChunks: this.zeroChunks,
      storedChunks: this.storedChunks,
      sectionCount: this.sectionCount,
      encodedBytes,
      digest: this.#digest.value,
    };
  }
}
