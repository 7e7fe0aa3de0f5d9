// The receiving side: source bytes -> parser (structure, order, limits, trailer) -> worker pool (size checks before
// decompressing, then the chunk checksum) -> sink, in stream order. No byte reaches the sink before its chunk
// verified; the header is verified (and handed to `onHeader`) before the sink is even opened, so a foreign or
// future stream never touches a device. The same byte budget bounds everything between source read and sink.
import { AbortedError, throwIfAborted } from '../errors.ts';
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
import { perChunkReservation, resolveBudget } from './stream-saver.ts';
import { type TransferStats, transferStats } from './transfer-stats.ts';

/** Source reads feed the parser this many bytes at a time. */
const READ_SIZE = 1 << 20;

export interface LoadOptions {
  /** Codec threads (0: on this thread). Default: available parallelism; none for a stream of two chunks or less. */
  workers?: number | undefined;
  /** The codec worker entry, for embedders that bundle the library (default: codec-worker next to this module). */
  workerUrl?: URL | string | undefined;
  /** Bytes in flight (stream bytes read and not yet decoded and written, plus their decoded size). */
  budget?: number | undefined;
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
}

/** The sink, or a function opening it once the header is known (the destination device goes to RESUMING there). */
export type SinkOrFactory = SinkLike | ((header: StreamHeader) => SinkLike | Promise<SinkLike>);

type Item =
  | { kind: 'chunk'; result: Promise<DecodeResult>; reserve: number; wire: number }
  | { kind: 'section'; section: SectionMarker };

/** `data` itself when it owns its whole buffer (movable to a worker), else a copy into a pooled buffer. */
function ownedCopy(data: Uint8Array, free: ArrayBuffer[], size: number): Uint8Array<ArrayBuffer> {
  const b = data.buffer;
  if (b instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === b.byteLength) {
    return data as Uint8Array<ArrayBuffer>;
  }
  let owned = free.pop();
  if (!owned || owned.byteLength < data.length) owned = new ArrayBuffer(Math.max(size, data.length));
  const view = new Uint8Array(owned, 0, data.length);
  view.set(data);
  return view;
}

export async function loadStream(
  sourceLike: SourceLike,
  sinkArg: SinkOrFactory,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  throwIfAborted(opts.signal);
  const signal = opts.signal;
  const source: ByteSource = toByteSource(sourceLike);
  const parser = new StreamParser({ limits: opts.limits });
  const meter = new ProgressMeter(opts.onProgress, { intervalMs: opts.progressIntervalMs });
  const sections: SectionMarker[] = [];
  const free: ArrayBuffer[] = [];
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
      // Keep a few for chunks the parser hands over as views; the parser usually gives fresh ones (dropped here).
      if (free.length < 4 && input.byteLength >= header!.maxFrameSize) free.push(input);
      await sink!.write(data, { signal });
      budget!.release(item.reserve);
      meter.chunk(data.length, item.wire);
    }
  };

  const start = async (h: StreamHeader) => {
    await opts.onHeader?.(h);
    throwIfAborted(signal);
    const perChunk = perChunkReservation(h);
    workers = opts.workers ?? autoWorkerCount(h.expectedBytes, h.maxChunkSize);
    budget = new ByteBudget(resolveBudget(perChunk, workers, opts.budget));
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
        // The parser keeps what it is given until its frames complete: hand it an exact-size copy of its own.
        parser.push(readBuf.slice(0, n));
        for (let frame = parser.next(); frame; frame = parser.next()) {
          switch (frame.type) {
            case 'header':
              header = frame.header;
              meter.overhead(frame.length);
              await start(frame.header);
              break;
            case 'section':
              meter.overhead(frame.length);
              sections.push(frame.section);
              items.push({ kind: 'section', section: frame.section });
              notify();
              break;
            case 'chunk': {
              const { chunk } = frame;
              const reserve = chunk.data.length + chunk.descriptor.rawLength + 256;
              await budget!.acquire(Math.min(reserve, budget!.capacity), signal);
              const view = ownedCopy(chunk.data, free, header!.maxFrameSize);
              const result = pool!.decode({ descriptor: chunk.descriptor, dataOffset: chunk.dataOffset, data: view });
              result.catch(() => {});
              items.push({ kind: 'chunk', result, reserve: Math.min(reserve, budget!.capacity), wire: frame.length });
              notify();
              break;
            }
            case 'trailer':
              trailer = frame.trailer;
              meter.overhead(frame.length);
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
    signal?.removeEventListener('abort', onAbort);
  }
  return {
    header: header!,
    trailer: trailer!,
    sections,
    ...transferStats(meter.finish(), workers, budget as ByteBudget | null),
  };
}
