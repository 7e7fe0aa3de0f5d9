// The sending side: device bytes -> chunks -> worker pool (zero check, checksum, compression, framing) -> sink, in
// stream order, with every byte between the source read and the sink's acceptance counted against one budget.
// A stream may hold several sections (pre-copy rounds, then stop-copy); each section pumps one source to its end.
import { ContentChunker } from '../core/index.ts';
import { AbortedError, PeerFailedError, PipelineConfigError, throwIfAborted } from '../errors.ts';
import {
  type Chunking,
  type ChunkingMode,
  type Codec,
  createStreamHeader,
  decodeReceipt,
  encodedChunkCapacity,
  fixedChunking,
  type SectionKind,
  type StreamHeader,
  type StreamReceipt,
  type StreamTotals,
  StreamWriter,
} from '../stream/index.ts';
import { ByteBudget } from './byte-budget.ts';
import { type ByteSink, type ByteSource, readFull } from './byte-endpoints.ts';
import { autoWorkerCount, CodecPool, type EncodeResult } from './codec-pool.ts';
import { type SinkLike, type SourceLike, toByteSink, toByteSource } from './endpoint-adapters.ts';
import { runLoopPair } from './loop-pair.ts';
import { type ProgressListener, ProgressMeter } from './progress-meter.ts';
import { type TransferStats, transferStats } from './transfer-stats.ts';

/** Default codec: LZ4 in the wasm core, the fastest of the three on every corpus we measured (see README). */
export const DEFAULT_CODEC: Codec = 'lz4';
/** Default CDC average chunk (min a quarter, max four times). */
export const DEFAULT_CDC_SIZE = 256 << 10;
/** Chunks in flight per worker when no budget is given: enough to keep every worker and the sink busy. */
export const CHUNKS_PER_WORKER = 3;
/**
 * The most a default budget holds, whatever the CPU count and chunk size: memory is bounded by this side's settings,
 * never by the machine's size or by what a peer's header declares. An explicit budget may be larger.
 */
export const DEFAULT_BUDGET_CAP = 64 << 20;

/** Slack per chunk for the descriptor record in front of the data frame. */
const RECORD_SLACK = 256;

export interface SaveOptions {
  codec?: Codec | undefined;
  /** zstd 1..19 (default 3); recorded for lz4. */
  level?: number | undefined;
  chunking?: ChunkingMode | undefined;
  /** Fixed: the chunk size (default 1 MiB). CDC: the average, a power of two (default 256 KiB). */
  chunkSize?: number | undefined;
  /**
   * Codec threads (0: on this thread). Default: available parallelism (at most 4); none for a stream of two chunks or
   * less, or for codec `none`.
   */
  workers?: number | undefined;
  /**
   * Threads of this process kept busy by the same transfer besides the pipeline's (a simulated device's): the default
   * number of codec threads leaves each of them a core. Default 0.
   */
  busyThreads?: number | undefined;
  /** The codec worker entry, for embedders that bundle the library (default: codec-worker next to this module). */
  workerUrl?: URL | string | undefined;
  /** Bytes in flight between source read and sink acceptance. Default: CHUNKS_PER_WORKER chunks per worker (min 4). */
  budget?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ProgressListener | undefined;
  progressIntervalMs?: number | undefined;
  /** Header metadata: device identity and profile. */
  device?: Record<string, unknown> | undefined;
  migrationFlags?: number | undefined;
  /** Raw bytes expected in all (for the header and the ETA). */
  expectedBytes?: number | undefined;
  /** Fixed stream id (tests); random otherwise. */
  streamId?: Uint8Array | undefined;
  /** Close the sink after the trailer (default true). */
  endSink?: boolean | undefined;
}

export interface SectionResult {
  kind: SectionKind;
  bytes: number;
  chunks: number;
  /** Stream bytes the section took, its marker included. */
  wireBytes: number;
}

export interface SaveResult extends TransferStats {
  header: StreamHeader;
  totals: StreamTotals;
  sections: SectionResult[];
}

export function chunkingFor(mode: ChunkingMode = 'fixed', size?: number): Chunking {
  if (mode === 'fixed') return fixedChunking(size);
  const avg = size ?? DEFAULT_CDC_SIZE;
  if (!Number.isInteger(avg) || avg <= 0 || (avg & (avg - 1)) !== 0) {
    throw new PipelineConfigError(`the CDC average chunk size must be a power of two, not ${avg}`);
  }
  return { mode, size: avg, min: Math.max(1, avg >> 2), max: avg * 4 };
}

/**
 * Bytes one chunk may occupy at once in a pipeline, either way: while a worker encodes (or decodes) it, its raw
 * bytes and its frame both exist, so both count, plus its record. The byte budget is a number of these.
 */
export function perChunkReservation(header: StreamHeader): number {
  return header.maxChunkSize + header.maxFrameSize + RECORD_SLACK;
}

/** The default byte budget: a few chunks per worker, at most DEFAULT_BUDGET_CAP (but always one chunk). */
export function defaultBudget(perChunk: number, workers: number): number {
  const wanted = perChunk * Math.max(4, CHUNKS_PER_WORKER * Math.max(1, workers));
  return Math.max(perChunk, Math.min(wanted, Math.max(DEFAULT_BUDGET_CAP, 2 * perChunk)));
}

export function resolveBudget(perChunk: number, workers: number, budget: number | undefined): number {
  const b = budget ?? defaultBudget(perChunk, workers);
  if (!Number.isSafeInteger(b) || b < perChunk) {
    throw new PipelineConfigError(
      `a byte budget of ${b} cannot hold one chunk in flight (${perChunk} bytes with this chunk size): raise --budget ` +
        'or lower --chunk-size',
    );
  }
  return b;
}

/** Writes one stream: header, sections, trailer. Use saveStream for the one-section case. */
export class StreamSaver {
  readonly header: StreamHeader;
  readonly budget: ByteBudget;
  readonly workers: number;
  readonly #writer: StreamWriter;
  readonly #sink: ByteSink;
  readonly #pool: CodecPool;
  readonly #meter: ProgressMeter;
  readonly #perChunk: number;
  readonly #signal: AbortSignal | undefined;
  readonly #endSink: boolean;
  readonly #sections: SectionResult[] = [];
  readonly #free: ArrayBuffer[] = [];
  /** Output buffers whose bytes the sink has taken, handed to the codec again (as many as chunks in flight). */
  readonly #freeOut: ArrayBuffer[] = [];
  #failure: Error | null = null;
  #finished = false;
  #teardownDone: Promise<void> | null = null;

  private constructor(
    header: StreamHeader,
    sink: ByteSink,
    pool: CodecPool,
    budget: ByteBudget,
    meter: ProgressMeter,
    opts: SaveOptions,
  ) {
    this.header = header;
    this.#writer = new StreamWriter(header);
    this.#sink = sink;
    this.#pool = pool;
    this.budget = budget;
    this.workers = pool.size;
    this.#meter = meter;
    this.#perChunk = perChunkReservation(header);
    this.#signal = opts.signal;
    this.#endSink = opts.endSink ?? true;
  }

  /** Builds the header, starts the codec workers and writes the header to the sink. */
  static async open(sinkLike: SinkLike, opts: SaveOptions = {}): Promise<StreamSaver> {
    throwIfAborted(opts.signal);
    const header = createStreamHeader({
      codec: opts.codec ?? DEFAULT_CODEC,
      level: opts.level,
      chunking: chunkingFor(opts.chunking, opts.chunkSize),
      migrationFlags: opts.migrationFlags,
      device: opts.device,
      expectedBytes: opts.expectedBytes,
      streamId: opts.streamId,
    });
    const workers =
      opts.workers ?? autoWorkerCount(opts.expectedBytes, header.maxChunkSize, header.codec, opts.busyThreads);
    const perChunk = perChunkReservation(header);
    const budget = new ByteBudget(resolveBudget(perChunk, workers, opts.budget));
    const sink = toByteSink(sinkLike);
    let pool: CodecPool | null = null;
    try {
      pool = await CodecPool.start({ role: 'encode', header, workers, workerUrl: opts.workerUrl, signal: opts.signal });
      const meter = new ProgressMeter(opts.onProgress, {
        total: opts.expectedBytes ?? null,
        intervalMs: opts.progressIntervalMs,
      });
      const saver = new StreamSaver(header, sink, pool, budget, meter, opts);
      const bytes = saver.#writer.headerBytes();
      await sink.write(bytes, { signal: opts.signal });
      meter.overhead(bytes.length);
      return saver;
    } catch (err) {
      await pool?.close();
      await sink.abort(err);
      throw err;
    }
  }

  /** Raw bytes saved so far. */
  get bytes(): number {
    return this.#meter.bytes;
  }

  /**
   * Streams `source` to its end as one section. A section that fails leaves the whole stream failed: call abort().
   */
  async section(
    kind: SectionKind,
    sourceLike: SourceLike,
    opts: { expectedBytes?: number | null; exact?: boolean } = {},
  ): Promise<SectionResult> {
    if (this.#failure) throw this.#failure;
    if (this.#finished) throw new PipelineConfigError('the stream is already finished');
    const source = toByteSource(sourceLike);
    const marker = this.#writer.beginSection(kind, opts.expectedBytes ?? null, opts.exact ?? false);
    this.#meter.section = kind === 'pre-copy' ? `pre-copy ${this.#sections.length + 1}` : kind;
    try {
      await this.#sink.write(marker, { signal: this.#signal });
      this.#meter.overhead(marker.length);
      const result = await this.#pump(kind, source);
      result.wireBytes += marker.length;
      this.#sections.push(result);
      return result;
    } catch (err) {
      this.#failure ??= err as Error;
      throw this.#failure;
    }
  }

  async #pump(kind: SectionKind, source: ByteSource): Promise<SectionResult> {
    const signal = this.#signal;
    const budget = this.budget;
    const perChunk = this.#perChunk;
    const maxChunk = this.header.chunking.max;
    const outSize = encodedChunkCapacity(this.header);
    const inflight: Promise<EncodeResult>[] = [];
    let readerDone = false;
    let stop: Error | null = null;
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const halt = (err: Error) => {
      if (stop) return;
      stop = err;
      this.#failure ??= err;
      budget.fail(err);
      notify();
      // A writer blocked on a stalled sink only wakes when the sink is torn down.
      void this.#teardown(err);
    };
    const onAbort = () => halt(new AbortedError(undefined, { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    let bytes = 0;
    let chunks = 0;
    let wireBytes = 0;

    const writerLoop = async () => {
      for (;;) {
        if (stop) throw stop;
        const next = inflight.shift();
        if (!next) {
          if (readerDone) return;
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        const { chunk, input } = await next;
        if (stop) throw stop;
        this.#free.push(input);
        this.#writer.addChunk(chunk);
        await this.#sink.write(chunk.bytes, { signal });
        const outBuf = chunk.bytes.buffer as ArrayBuffer;
        if (outBuf.byteLength === outSize) this.#freeOut.push(outBuf);
        budget.release(perChunk);
        this.#meter.chunk(chunk.descriptor.rawLength, chunk.bytes.length);
        bytes += chunk.descriptor.rawLength;
        chunks++;
        wireBytes += chunk.bytes.length;
      }
    };

    const take = (): ArrayBuffer => this.#free.pop() ?? new ArrayBuffer(maxChunk);
    let seq = this.#writer.nextSeq;
    let offset = this.#writer.nextRawOffset;
    const submit = (buf: ArrayBuffer, length: number) => {
      const out = this.#freeOut.pop() ?? new ArrayBuffer(outSize);
      const p = this.#pool.encode(seq, offset, new Uint8Array(buf, 0, length), out);
      p.catch(() => {}); // observed by the writer loop; never an unhandled rejection
      seq++;
      offset += length;
      inflight.push(p);
      notify();
    };

    const readerLoop = async () => {
      try {
        if (this.header.chunking.mode === 'fixed') {
          for (;;) {
            await budget.acquire(perChunk, signal);
            const buf = take();
            const n = await readFull(source, new Uint8Array(buf, 0, maxChunk), { signal });
            if (stop) throw stop;
            if (n === 0) {
              this.#free.push(buf);
              budget.release(perChunk);
              break;
            }
            submit(buf, n);
            if (n < maxChunk) break;
          }
        } else {
          await this.#readCdc(source, take, submit, () => stop);
        }
      } finally {
        readerDone = true;
        notify();
      }
    };

    try {
      await runLoopPair(readerLoop, writerLoop, halt, () => stop);
      return { kind, bytes, chunks, wireBytes };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await source.close().catch(() => {});
    }
  }

  /** Content-defined cuts from the core's chunker; each chunk is copied once from the read buffer into its own. */
  async #readCdc(
    source: ByteSource,
    take: () => ArrayBuffer,
    submit: (buf: ArrayBuffer, length: number) => void,
    stopped: () => Error | null,
  ): Promise<void> {
    const { min, size, max } = this.header.chunking;
    const chunker = new ContentChunker({ minSize: min, avgSize: size, maxSize: max });
    const readBuf = new Uint8Array(Math.min(max, 1 << 20));
    const cuts: number[] = [];
    let cur: Uint8Array | null = null;
    let curLen = 0;
    const append = async (bytes: Uint8Array) => {
      if (bytes.length === 0) return;
      if (!cur) {
        await this.budget.acquire(this.#perChunk, this.#signal);
        cur = new Uint8Array(take(), 0, max);
        curLen = 0;
      }
      cur.set(bytes, curLen);
      curLen += bytes.length;
    };
    const emit = () => {
      if (cur && curLen > 0) submit(cur.buffer as ArrayBuffer, curLen);
      cur = null;
      curLen = 0;
    };
    for (;;) {
      const n = await source.read(readBuf, { signal: this.#signal });
      const err = stopped();
      if (err) throw err;
      if (n === 0) break;
      const block = readBuf.subarray(0, n);
      const base = chunker.offset;
      cuts.length = 0;
      chunker.push(block, cuts);
      let pos = 0;
      for (const cut of cuts) {
        const end = cut - base;
        await append(block.subarray(pos, end));
        emit();
        pos = end;
      }
      await append(block.subarray(pos));
    }
    chunker.finish();
    emit();
  }

  /** Writes the trailer, ends the sink, stops the workers. */
  /**
   * Writes the trailer, ends the sink, stops the workers. `keepWorkers`: leave the codec threads to `release()`
   * (stopping threads takes milliseconds a migration's downtime need not pay).
   */
  async finish(opts: { keepWorkers?: boolean } = {}): Promise<SaveResult> {
    if (this.#failure) throw this.#failure;
    if (this.#finished) throw new PipelineConfigError('the stream is already finished');
    this.#finished = true;
    try {
      const trailer = this.#writer.trailerBytes();
      await this.#sink.write(trailer, { signal: this.#signal });
      this.#meter.overhead(trailer.length);
      if (this.#endSink) {
        const answer = await this.#sink.end({ signal: this.#signal });
        if (answer && answer.length > 0) this.#checkReceipt(answer);
      }
    } catch (err) {
      this.#failure = err as Error;
      await this.#sink.abort(err);
      throw err;
    } finally {
      if (!opts.keepWorkers || this.#failure) await this.#pool.close();
    }
    return {
      header: this.header,
      totals: this.#writer.totals(),
      sections: this.#sections,
      ...transferStats(this.#meter.finish(), this.workers, this.budget),
    };
  }

  /** A receiver that answers (over a socket) says whether its load succeeded: a failed one fails this save. */
  #checkReceipt(answer: Uint8Array): void {
    let receipt: StreamReceipt | null;
    try {
      receipt = decodeReceipt(answer, this.header.streamId);
    } catch (cause) {
      throw new PeerFailedError(this.#sink.name, { code: 'VFM_STREAM_CORRUPT', message: (cause as Error).message });
    }
    if (!receipt) throw new PeerFailedError(this.#sink.name, { message: 'its receipt was cut short' });
    if (!receipt.ok) throw new PeerFailedError(this.#sink.name, receipt);
  }

  /** Stops the codec threads (after `finish({ keepWorkers: true })`). Idempotent. */
  release(): Promise<void> {
    return this.#pool.close();
  }

  /** Stops everything after a failure: workers terminated, sink torn down (a partial file removed). Idempotent. */
  async abort(reason?: unknown): Promise<void> {
    this.#failure ??= reason instanceof Error ? reason : new AbortedError(undefined, { cause: reason });
    this.#finished = true;
    this.budget.fail(this.#failure);
    await this.#teardown(this.#failure);
  }

  #teardown(reason: Error): Promise<void> {
    this.#teardownDone ??= Promise.all([this.#pool.close(), this.#sink.abort(reason).catch(() => {})]).then(() => {});
    return this.#teardownDone;
  }
}

/** Saves one source as a complete stream (one stop-copy section) into one sink. */
export async function saveStream(source: SourceLike, sink: SinkLike, opts: SaveOptions = {}): Promise<SaveResult> {
  const saver = await StreamSaver.open(sink, opts);
  try {
    await saver.section('stop-copy', source, { expectedBytes: opts.expectedBytes ?? null });
    return await saver.finish();
  } catch (err) {
    await saver.abort(err);
    throw err;
  }
}
