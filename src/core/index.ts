// Public API of the WebAssembly core. Each thread (worker) gets its own instance on first use (loadCore()); every
// function takes an optional CoreInstance last, defaulting to this thread's.
export { type CdcOptions, ContentChunker, cdcBoundaries } from './cdc.ts';
export {
  Crc32cStream,
  crc32c,
  crc32cInArena,
  Xxh3Stream,
  Xxh32Stream,
  Xxh64Stream,
  xxh3,
  xxh3InArena,
  xxh32,
  xxh32And64At,
  xxh64,
  xxh64At,
  xxh64InArena,
} from './checksums.ts';
export {
  LZ4_MAX_BLOCK,
  LZ4_WINDOW,
  type Lz4CompressOptions,
  type Lz4DecompressOptions,
  lz4CompressBlock,
  lz4CompressBlockInto,
  lz4CompressBound,
  lz4CompressInArena,
  lz4DecompressBlock,
  lz4DecompressBlockInto,
  lz4DecompressInArena,
} from './lz4-block.ts';
export {
  LZ4_DECOMPRESS_DEFAULT_MAX,
  LZ4_FRAME_MAGIC,
  type Lz4BlockSize,
  Lz4FrameDecoder,
  type Lz4FrameDecompressOptions,
  Lz4FrameEncoder,
  type Lz4FrameOptions,
  type Lz4Sink,
  lz4FrameCompress,
  lz4FrameDecompress,
} from './lz4-frame.ts';
export { type CoreFlavor, type CoreInstance, chooseFlavor, loadCore } from './wasm-module.ts';
export { isZeroChunk, isZeroInArena, PAGE_SIZE, zeroPageMap } from './zero-detect.ts';
