// The receiving side: source bytes -> parser (structure, order, limits, trailer) -> worker pool (size checks before
// decompressing, then the chunk checksum) -> sink, in stream order. No byte reaches the sink before its chunk
// verified; the header is verified (and handed to `onHeader`) before the sink is even opened, so a foreign or
// future stream never touches a device. The same byte budget bounds everything between source read and sink.
import { AbortedError, HeaderTimeoutError, StreamLimitError, throwIfAborted } from '../errors.ts';
import {
  type SectionMarker,
  type StreamHeader,
  type StreamLimits,
  StreamParser,
  type StreamTrailer,
} from '../stream/index.ts';
import { ByteBudget } from './byte-budget.ts';
import type { ByteSink, ByteSource } from './byte-endpoints.ts';
import { autoWorkerCount, CodecPool, type DecodeResult } from './codec-pool.ts';
import { type SinkLike, type SourceLike, toByteSink, toByteSource } from './endpoint-adapters.ts';
import { runLoopPair } from './loop-pair.ts';
import { type ProgressListener, ProgressMeter } from './progress-meter.ts';
import { CHUNKS_PER_WORKER, DEFAULT_BUDGET_CAP, perChunkReservation } from './stream-saver.ts';
import { type TransferStats, transferStats } from './transfer-stats.ts';

/** Source reads feed the parser this many bytes at a time. */
const READ_SIZE = 1 << 20;

export interface LoadOptions {
  /**
   * Codec threads (0: on this thread). Default: available parallelism (at most 4); none for a stream of two chunks or
   * less, or one without compression (codec `none`).
   */
  workers?: number | undefined;
  /**
   * Threads of this process kept busy by the same transfer besides the pipeline's (a simulated device's): the default
   * number of codec threads leaves each of them a core. Default 0.
   */
  busyThreads?: number | undefined;
  /** The codec worker entry, for embedders that bundle the library (default: codec-worker next to this module). */
  workerUrl?: URL | string | undefined;
  /**
   * Bytes in flight (stream bytes read and not yet decoded and written, plus their decoded size). The default is a
   * few chunks per worker, at most 64 MiB; a stream whose chunks would not fit is refused at its header (the
   * sender's chunk size never decides this side's memory).
   */
  budget?: number | undefined;
  /** The stream header must have arrived this long after the load started (default: no deadline). */
  headerTimeoutMs?: number | undefined;
  /**
   * Loud problems that are not errors, as they are found: a section whose size differs from the exact size its
   * device announced. Also collected in the result's `warnings`.
   */
  onWarning?: ((message: string) => void) | undefined;
  /** Reader-side hard limits, whatever the header declares. */
  limits?: StreamLimits | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ProgressListener | undefined;
  progressIntervalMs?: number | undefined;
  /** Called with the verified header before anything is written (refuse the stream by throwing). */
  onHeader?: ((header: StreamHeader) => void | Promise<void>) | undefined;
  /** Called in stream order when a section starts (after every chunk before it was written). */
  onSection?: ((section: SectionMarker) => void | Promise<void>) | undefined;
  /** Close the sink after the trailer verified (default true). */
  endSink?: boolean | undefined;
}

export interface LoadResult extends TransferStats {
  header: StreamHeader;
  trailer: StreamTrailer;
  sections: SectionMarker[];
  /** What onWarning was told. */
  warnings: string[];
}

/**
 * This side's budget for a stream: `budget` when given, else a few chunks per worker capped at DEFAULT_BUDGET_CAP.
 * Throws StreamLimitError (before anything is opened) when one chunk of the stream does not fit.
 */
export function receiverBudget(header: StreamHeader, workers: number, budget: number | undefined): number {
  const perChunk = perChunkReservation(header);
  const capacity =
    budget ?? Math.min(perChunk * Math.max(4, CHUNKS_PER_WORKER * Math.max(1, workers)), DEFAULT_BUDGET_CAP);
  if (perChunk > capacity) {
    throw new StreamLimitError(
      `the stream's chunks of up to ${header.maxChunkSize} bytes need ${perChunk} bytes in flight each, more than ` +
        `this receiver's budget of ${capacity} bytes (give a larger --budget to accept such a stream)`,
      0,
    );
  }
  return capacity;
}

/** The sink, or a function opening it once the header is known (the destination device goes to RESUMING there). */
export type SinkOrFactory = SinkLike | ((header: StreamHeader) => SinkLike | Promise<SinkLike>);

type Item =
  | { kind: 'chunk'; result: Promise<DecodeResult>; reserve: number; wire: number }
  | { kind: 'section'; section: SectionMarker };

export async function loadStream(
  sourceLike: SourceLike,
  sinkArg: SinkOrFactory,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  throwIfAborted(opts.signal);
  const signal = opts.signal;
  const source: ByteSource = toByteSource(sourceLike);
  const free: ArrayBuffer[] = [];
  // Chunk data frames are copied once, from the read buffer into a recycled buffer a codec thread takes by transfer.
  const allocate = (size: number): Uint8Array<ArrayBuffer> => {
    const frameMax = parser.header?.maxFrameSize ?? 0;
    const buf = size <= frameMax ? (free.pop() ?? new ArrayBuffer(frameMax)) : new ArrayBuffer(size);
    return new Uint8Array(buf, 0, size);
  };
  const parser: StreamParser = new StreamParser({ limits: opts.limits, allocate });
  const meter = new ProgressMeter(opts.onProgress, { intervalMs: opts.progressIntervalMs });
  const sections: SectionMarker[] = [];
  const warnings: string[] = [];
  /** Buffers decoded chunks were written from, handed to the codec again (as many as chunks in flight). */
  const freeOut: ArrayBuffer[] = [];
  const items: Item[] = [];

  let header: StreamHeader | null = null;
  let trailer: StreamTrailer | null = null;
  let sink: ByteSink | null = null;
  let pool: CodecPool | null = null;
  let budget: ByteBudget | null = null;
  let workers = 0;
  let stop: Error | null = null;
  let readerDone = false;
  let wake: (() => void) | null = null;
  let teardown: Promise<void> | null = null;

  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const tearDown = (err: Error) =>
    (teardown ??= Promise.all([pool?.close(), sink?.abort(err).catch(() => {}), source.close().catch(() => {})]).then(
      () => {},
    ));
  const halt = (err: Error) => {
    if (stop) return;
    stop = err;
    budget?.fail(err);
    notify();
    void tearDown(err);
  };
  const onAbort = () => halt(new AbortedError(undefined, { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  let bytesIn = 0;
  // A peer that connects and then dribbles (or sends nothing) must not hold this side before it even knows the stream.
  const headerTimer = opts.headerTimeoutMs
    ? setTimeout(() => halt(new HeaderTimeoutError(source.name, opts.headerTimeoutMs!, bytesIn)), opts.headerTimeoutMs)
    : undefined;
  const warn = () => {
    for (const w of parser.warnings.slice(warnings.length)) {
      warnings.push(w);
      opts.onWarning?.(w);
    }
  };

  const writerLoop = async () => {
    for (;;) {
      if (stop) throw stop;
      const item = items.shift();
      if (!item) {
        if (readerDone) return;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (item.kind === 'section') {
        meter.section = item.section.kind === 'pre-copy' ? `pre-copy ${item.section.index + 1}` : item.section.kind;
        await opts.onSection?.(item.section);
        continue;
      }
      const { data, input } = await item.result;
      if (stop) throw stop;
      if (input.byteLength === header!.maxFrameSize) free.push(input);
      await sink!.write(data, { signal });
      if (data.buffer.byteLength === header!.maxChunkSize) freeOut.push(data.buffer as ArrayBuffer);
      budget!.release(item.reserve);
      meter.chunk(data.length, item.wire);
    }
  };

  const start = async (h: StreamHeader) => {
    clearTimeout(headerTimer);
    workers = opts.workers ?? autoWorkerCount(h.expectedBytes, h.maxChunkSize, h.codec, opts.busyThreads);
    budget = new ByteBudget(receiverBudget(h, workers, opts.budget));
    await opts.onHeader?.(h);
    throwIfAborted(signal);
    meter.total = h.expectedBytes;
    pool = await CodecPool.start({
      role: 'decode',
      header: h,
      limits: opts.limits,
      workers,
      workerUrl: opts.workerUrl,
      signal,
    });
    sink = toByteSink(typeof sinkArg === 'function' ? await sinkArg(h) : sinkArg);
  };

  const readerLoop = async () => {
    const readBuf = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        if (stop) throw stop;
        const n = await source.read(readBuf, { signal });
        if (stop) throw stop;
        if (n === 0) break;
        bytesIn += n;
        // Every frame is drained before the next read reuses readBuf (the parser copies what it still needs).
        parser.pushTransient(readBuf.subarray(0, n));
        for (let frame = parser.next(); frame; frame = parser.next()) {
          switch (frame.type) {
            case 'header':
              header = frame.header;
              meter.overhead(frame.length);
              await start(frame.header);
              break;
            case 'section':
              warn();
              meter.overhead(frame.length);
              sections.push(frame.section);
              items.push({ kind: 'section', section: frame.section });
              notify();
              break;
            case 'chunk': {
              const { chunk } = frame;
              const reserve = chunk.data.length + chunk.descriptor.rawLength + 256;
              await budget!.acquire(Math.min(reserve, budget!.capacity), signal);
              const view = chunk.data as Uint8Array<ArrayBuffer>;
              const out = freeOut.pop() ?? new ArrayBuffer(header!.maxChunkSize);
              const task = { descriptor: chunk.descriptor, dataOffset: chunk.dataOffset, data: view };
              const result = pool!.decode(task, out);
              result.catch(() => {});
              items.push({ kind: 'chunk', result, reserve: Math.min(reserve, budget!.capacity), wire: frame.length });
              notify();
              break;
            }
            case 'trailer':
              trailer = frame.trailer;
              meter.overhead(frame.length);
              warn();
              break;
          }
        }
      }
      // Without its trailer the stream is truncated: the parser says so, with the offset.
      parser.end();
    } finally {
      readerDone = true;
      notify();
    }
  };

  try {
    await runLoopPair(readerLoop, writerLoop, halt, () => stop);
    if (opts.endSink ?? true) await sink!.end({ signal });
    await source.close();
    await (pool as CodecPool | null)?.close();
  } catch (err) {
    halt(err as Error);
    await tearDown(stop ?? (err as Error));
    throw stop ?? err;
  } finally {
    clearTimeout(headerTimer);
    signal?.removeEventListener('abort', onAbort);
  }
  return {
    header: header!,
    trailer: trailer!,
    sections,
    warnings,
    ...transferStats(meter.finish(), workers, budget as ByteBudget | null),
  };
}
