// The migration stream format: public surface. Everything here is synchronous and I/O-free except the async
// factories (codec loading) and the async-iterable readers; encoders and decoders are safe to run in workers.
// The byte layouts are specified in FORMAT.md next to this file.

export { ChunkDecoder } from './chunk-decoder.ts';
export { ChunkEncoder, encodedChunkCapacity } from './chunk-encoder.ts';
export { type DecodedEvent, type DecodeStreamOptions, decodeStream } from './decode-stream.ts';
export { type EncodeStreamOptions, encodeStream } from './encode-stream.ts';
export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_LIMITS,
  FORMAT_VERSION,
  MAX_CHUNK_SIZE,
} from './format-constants.ts';
export {
  createStreamHeader,
  encodeHeader,
  fixedChunking,
  STREAM_START_BYTES,
  streamStartProblem,
} from './header-record.ts';
export { type InspectOptions, type InspectReport, inspectStream } from './inspect-stream.ts';
export { decodeReceipt, encodeReceipt, type StreamReceipt } from './receipt-record.ts';
export { encodeSection } from './section-record.ts';
export { StreamDigest } from './stream-digest.ts';
export { type ParseStreamOptions, parseStream, StreamParser } from './stream-parser.ts';
export type {
  ChunkDescriptor,
  ChunkFrame,
  Chunking,
  ChunkingMode,
  Codec,
  EncodedChunk,
  FormatVersion,
  SectionKind,
  SectionMarker,
  StreamFrame,
  StreamHeader,
  StreamHeaderInit,
  StreamLimits,
  StreamTotals,
  StreamTrailer,
} from './stream-types.ts';
export { StreamWriter } from './stream-writer.ts';
export { encodeTrailer } from './trailer-record.ts';
export { type ZstdBackend, zstdBackend } from './zstd-runtime.ts';

/*
 * Signatures (bodies in the files above):
 *
 * createStreamHeader(init: StreamHeaderInit): StreamHeader        // fills streamId, limits, defaults; validates
 * encodeHeader(header: StreamHeader): Uint8Array                  // the header skippable frame
 * encodeSection(streamId: Uint8Array, marker: SectionMarker): Uint8Array
 * encodeTrailer(trailer: StreamTrailer): Uint8Array
 *
 * class StreamWriter {                                            // main thread, writer side: order + totals
 *   constructor(header: StreamHeader)
 *   readonly header: StreamHeader
 *   headerBytes(): Uint8Array                                      // call first, once
 *   beginSection(kind: SectionKind, expectedBytes?: number | null): Uint8Array
 *   nextSeq: number; nextRawOffset: number                         // what the next chunk must carry
 *   addChunk(chunk: EncodedChunk): void                           // in seq order; throws on gaps/duplicates
 *   totals(): StreamTotals
 *   trailerBytes(): Uint8Array                                     // call last, once
 * }
 *
 * class ChunkEncoder {                                            // one per worker
 *   static create(header: StreamHeader): Promise<ChunkEncoder>
 *   encode(seq: number, rawOffset: number, data: Uint8Array): EncodedChunk   // descriptor frame + data frame
 * }
 *
 * class ChunkDecoder {                                            // one per worker
 *   static create(header: StreamHeader, limits?: StreamLimits): Promise<ChunkDecoder>
 *   decode(chunk: ChunkFrame): Uint8Array    // checks sizes before decompressing, then every checksum; throws
 * }
 *
 * class StreamParser {                                            // incremental, bounded buffering, sync
 *   constructor(opts?: { limits?: StreamLimits })
 *   push(bytes: Uint8Array): void
 *   next(): StreamFrame | undefined          // a complete frame, or undefined when more bytes are needed
 *   end(): void                              // input finished: throws StreamTruncatedError unless the trailer came
 *   readonly header: StreamHeader | undefined; readonly offset: number; readonly done: boolean
 *   readonly buffered: number                // bytes held (never more than one frame plus one push)
 * }
 * parseStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts?: { limits?, signal? })
 *   : AsyncGenerator<StreamFrame>
 *   Structure only: header first, record checksums, order, duplicates, limits, trailer totals and digest over the
 *   descriptors. Chunk data are NOT decoded: every chunk must go through ChunkDecoder.decode before its bytes are
 *   used (decode verifies the data against the descriptor the digest covers).
 *
 * decodeStream(source, opts?): AsyncGenerator<DecodedEvent>      // serial reference reader: frames + verified data
 * encodeStream(source, init: StreamHeaderInit, opts?): AsyncGenerator<Uint8Array>  // serial reference writer
 * inspectStream(source, { verify?: 'full' | 'structure', signal? }): Promise<InspectReport>
 * zstdBackend(): Promise<'node:zlib' | 'zstd-codec'>
 */
