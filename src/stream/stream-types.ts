// The values the stream format carries, as plain structured-cloneable objects (they cross worker boundaries).

/** Compression of the data frames. `none` still writes standard (zstd) frames, with stored and RLE blocks. */
export type Codec = 'none' | 'lz4' | 'zstd';
export type ChunkingMode = 'fixed' | 'cdc';
/** A pre-copy round (the device still running) or the final STOP_COPY part (also the only part of plain data). */
export type SectionKind = 'pre-copy' | 'stop-copy';

export interface Chunking {
  mode: ChunkingMode;
  /** fixed: the chunk size; cdc: the average (target) size. */
  size: number;
  /** cdc: no cut before this many bytes (fixed: equals size). */
  min: number;
  /** cdc: forced cut here; fixed: equals size. No chunk of the stream is larger. */
  max: number;
}

export interface FormatVersion {
  major: number;
  minor: number;
}

/** What a writer supplies; `createStreamHeader` fills in the rest. */
export interface StreamHeaderInit {
  codec: Codec;
  /** zstd: 1..19 (default 3); lz4: recorded only (the core has one fast level); none: ignored. */
  level?: number | undefined;
  chunking: Chunking;
  /** VFIO migration flags of the source device (0 for a plain data source). */
  migrationFlags?: number | undefined;
  /** Device identity and profile (`describe()` output, its spec id, ...): free-form, JSON-serialisable. */
  device?: Record<string, unknown> | undefined;
  /** Expected raw bytes when known beforehand (the STOP_COPY size estimate, a file's size). */
  expectedBytes?: number | undefined;
  /** LZ4 frames carry an XXH32 content checksum so `lz4 -d` verifies them too (default true). */
  lz4ContentChecksum?: boolean | undefined;
  /** 16 random bytes tying header, records and trailer together; generated when omitted (tests pin it). */
  streamId?: Uint8Array | undefined;
  /** Milliseconds since the epoch; now when omitted. */
  createdAt?: number | undefined;
}

export interface StreamHeader {
  version: FormatVersion;
  streamId: Uint8Array;
  codec: Codec;
  level: number;
  chunking: Chunking;
  migrationFlags: number;
  device: Record<string, unknown>;
  expectedBytes: number | null;
  lz4ContentChecksum: boolean;
  /** No chunk's raw length exceeds this (chunking.max); a reader refuses larger declarations (bomb). */
  maxChunkSize: number;
  /** No data frame's encoded length exceeds this (the worst-case frame for maxChunkSize). */
  maxFrameSize: number;
  createdAt: number;
}

export interface SectionMarker {
  kind: SectionKind;
  /** 0, 1, 2... across all sections of the stream. */
  index: number;
  /** Sequence number of the first chunk of the section (= chunks before it). */
  firstSeq: number;
  /** Raw byte offset where the section starts (= raw bytes before it). */
  rawOffset: number;
  /** Bytes the device announced for this part (pre-copy initial+dirty, or the STOP_COPY estimate), when known. */
  expectedBytes: number | null;
  /**
   * The device vouched that `expectedBytes` is exactly what this part holds (not an estimate): a section of another
   * size is then a loud warning on load and inspect (format 1.1; false in 1.0 streams).
   */
  exact: boolean;
}

export interface ChunkDescriptor {
  /** 0, 1, 2... across the whole stream. */
  seq: number;
  /** Offset of the chunk's first byte in the device's byte stream. */
  rawOffset: number;
  rawLength: number;
  /** Length of the standard data frame that follows the descriptor. */
  encodedLength: number;
  /** XXH64 (seed 0) of the raw bytes. */
  rawHash: bigint;
  /** All raw bytes are zero (the data frame is the canonical zero frame). */
  zero: boolean;
  /** The data frame stores the bytes uncompressed (they did not compress). */
  stored: boolean;
}

/** One encoded chunk: the descriptor frame followed by the data frame, ready for the wire. */
export interface EncodedChunk {
  bytes: Uint8Array;
  descriptor: ChunkDescriptor;
}

/** A parsed chunk: its descriptor and the data frame bytes (not yet decoded nor verified). */
export interface ChunkFrame {
  descriptor: ChunkDescriptor;
  data: Uint8Array;
  /** Stream offset of the data frame's first byte (for error reports). */
  dataOffset: number;
}

export interface StreamTotals {
  rawBytes: number;
  chunkCount: number;
  zeroChunks: number;
  storedChunks: number;
  sectionCount: number;
  /** Stream bytes before the trailer (header, records and data frames). */
  encodedBytes: number;
  /** The chained digest of all chunks (see FORMAT.md, "stream digest"). */
  digest: bigint;
}

export interface StreamTrailer extends StreamTotals {
  streamId: Uint8Array;
}

interface FrameBase {
  /** Byte offset of the frame in the stream. */
  offset: number;
  /** Bytes the frame occupies (for a chunk: descriptor and data frame). */
  length: number;
}

export type StreamFrame =
  | (FrameBase & { type: 'header'; header: StreamHeader })
  | (FrameBase & { type: 'section'; section: SectionMarker })
  | (FrameBase & { type: 'chunk'; chunk: ChunkFrame })
  | (FrameBase & { type: 'trailer'; trailer: StreamTrailer });

/** Reader-side hard limits, whatever a header declares (defends against hostile headers). */
export interface StreamLimits {
  /** Largest raw chunk accepted (default 64 MiB). */
  maxChunkSize?: number | undefined;
  /** Largest header metadata (device JSON) accepted (default 64 KiB). */
  maxMetadataBytes?: number | undefined;
}
