// The data pipeline: chunking, the codec worker pool, the byte budget, progress, and save/load of streams and devices.
export { ByteBudget } from './byte-budget.ts';
export {
  type ByteSink,
  type ByteSource,
  readFull,
  sinkFromCallback,
  sinkFromWebWritable,
  sourceFromAsyncIterable,
  sourceFromWebReadable,
} from './byte-endpoints.ts';
export { autoWorkerCount, CodecPool, type CodecPoolOptions, defaultWorkerCount } from './codec-pool.ts';
export { checkDeviceMatch, type LoadDeviceOptions, type LoadDeviceResult, loadDevice } from './device-load.ts';
export {
  deviceMetadata,
  type PrecopyPolicy,
  recoverToRunning,
  type SaveDeviceOptions,
  type SaveDeviceResult,
  saveDevice,
} from './device-save.ts';
export {
  createBytePipe,
  type SessionSource,
  type SinkLike,
  type SourceLike,
  sinkFromResumingSession,
  sourceFromSavingSession,
  toByteSink,
  toByteSource,
  toNodeReadable,
  toWebReadable,
} from './endpoint-adapters.ts';
export { decodeToIterable, encodeToIterable } from './iterable-pipelines.ts';
export { sinkFromNodeWritable, sourceFromNodeReadable } from './node-stream-endpoints.ts';
export { type ProgressEvent, type ProgressListener, ProgressMeter } from './progress-meter.ts';
export { type LoadOptions, type LoadResult, loadStream, type SinkOrFactory } from './stream-loader.ts';
export {
  CHUNKS_PER_WORKER,
  chunkingFor,
  DEFAULT_CDC_SIZE,
  DEFAULT_CODEC,
  type SaveOptions,
  type SaveResult,
  type SectionResult,
  StreamSaver,
  saveStream,
} from './stream-saver.ts';
export { type TransferStats, transferStats } from './transfer-stats.ts';
