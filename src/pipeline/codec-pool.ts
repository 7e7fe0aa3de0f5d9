// A pool of worker threads running the chunk codec. Buffers move to a worker and back by transfer (never copied);
// each task goes to the least busy worker. Results resolve per task, so the caller keeps stream order simply by
// awaiting them in the order it submitted them. A worker that dies fails every task in flight and the pool.
// `workers: 0` runs the codec on the calling thread (no threads to start: small streams, tests, embedding).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AbortedError, WorkerCrashedError } from '../errors.ts';
import type { ChunkFrame, Codec, EncodedChunk, StreamHeader, StreamLimits } from '../stream/index.ts';
import { ChunkDecoder, ChunkEncoder } from '../stream/index.ts';
import { workerEntryUrl, workerEnv } from '../worker-entry-url.ts';
import type { CodecReply, CodecRequest, CodecWorkerData } from './codec-worker.ts';
import { deserializeError, type SerializedError } from './worker-errors.ts';

export interface CodecPoolOptions {
  role: 'encode' | 'decode';
  header: StreamHeader;
  limits?: StreamLimits | undefined;
  /** Threads; 0 = on the calling thread. Default: the machine's available parallelism. */
  workers?: number | undefined;
  /**
   * The worker entry module. Default: `codec-worker.ts`/`.js` next to this module. Embedders that bundle the library
   * (so no codec-worker file sits beside the bundle) point this at their bundled copy of that entry.
   */
  workerUrl?: URL | string | undefined;
  signal?: AbortSignal | undefined;
}

export interface EncodeResult {
  chunk: EncodedChunk;
  /** The input buffer, handed back for reuse. */
  input: ArrayBuffer;
}

export interface DecodeResult {
  data: Uint8Array;
  /** The input buffer, handed back for reuse. */
  input: ArrayBuffer;
}

interface Pending {
  resolve(reply: CodecReply): void;
  reject(err: Error): void;
}

interface Slot {
  index: number;
  worker: Worker;
  busy: number;
  tasks: Map<number, Pending>;
  /** Until the worker reports its codec ready: settles its start promise (a death then fails start, not the pool). */
  starting: { resolve(): void; reject(err: Error): void } | null;
}

/**
 * Codec threads by default: the machine's parallelism, at most MAX_DEFAULT_WORKERS. Each thread costs its own wasm
 * arenas and runtime, so memory must not follow a 64-CPU machine's size; more are an explicit choice (`workers`).
 */
export const MAX_DEFAULT_WORKERS = 4;

/**
 * A codec thread keeps almost nothing alive; what it allocates is per-chunk garbage (zstd's output from node:zlib,
 * message objects). A small young generation has V8 scavenge often and free it within a few chunks; by default V8
 * grows each thread's young generation to tens of MiB under that allocation rate, and RSS swings with it. The old
 * generation's limit matters for the rest: V8 weighs the ArrayBuffers node:zlib returns against a limit it derives from
 * the heap's, and with the default one a thread let ~75 MiB of dead zstd output pile up before collecting it (1 GiB
 * zstd, two threads: decode 283 -> 146 MB, encode 270 -> 156 MB, and 10-20% faster for the page faults saved). What a
 * thread holds alive is a few MiB; 32 leaves room.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 };

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(MAX_DEFAULT_WORKERS, availableParallelism()));
}

/**
 * Threads for a stream of `expectedBytes` (null when unknown) with `codec`: none when the whole stream is at most two
 * chunks (small fixed-state devices such as hisi_acc or mtty send a few hundred bytes, far less work than starting a
 * thread) or when nothing is compressed (`none`: a chunk costs a copy and an XXH64 at gigabytes per second, less than
 * handing it to a thread and back; 1 GiB measured 0.77 s to encode and 0.69 s to decode on the calling thread, 0.82
 * and 0.86 s with two threads), the machine's parallelism otherwise, less a core for each of `busyThreads` (other
 * threads of this process busy with the same transfer, such as a simulated device's).
 */
export function autoWorkerCount(
  expectedBytes: number | null | undefined,
  chunkSize: number,
  codec: Codec = 'lz4',
  busyThreads = 0,
): number {
  if (codec === 'none') return 0;
  if (expectedBytes !== null && expectedBytes !== undefined && expectedBytes <= 2 * chunkSize) return 0;
  if (busyThreads <= 0) return defaultWorkerCount();
  // Other threads of this process that move the same data (a simulated device's) keep a core each busy, and the
  // codec threads get what is left. With one core left or none, an lz4 chunk costs about what its hand-off does and
  // stays on the calling thread, while zstd's costs several times more and still goes to one thread. Measured with a
  // simulated device on two cores, 512 MiB: lz4 save | load 2.38 s with no threads, 2.89 s with one each; zstd save
  // and load 1.68 / 2.49 s with none, 1.43 / 1.87 s with one, 1.77 / 1.93 s with two.
  const free = availableParallelism() - busyThreads;
  if (free >= 2) return Math.min(MAX_DEFAULT_WORKERS, free);
  return codec === 'zstd' ? 1 : 0;
}

export class CodecPool {
  readonly role: 'encode' | 'decode';
  #slots: Slot[];
  #inline: ChunkEncoder | ChunkDecoder | null;
  #nextId = 1;
  #failure: Error | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(role: 'encode' | 'decode', slots: Slot[], inline: ChunkEncoder | ChunkDecoder | null) {
    this.role = role;
    this.#slots = slots;
    this.#inline = inline;
  }

  /** Worker threads (0 for an inline pool). */
  get size(): number {
    return this.#slots.length;
  }

  /** Starts the workers and waits until each has its codec ready (or fails, stopping the others). */
  static async start(opts: CodecPoolOptions): Promise<CodecPool> {
    const count = opts.workers ?? defaultWorkerCount();
    if (count === 0) {
      const inline =
        opts.role === 'encode'
          ? await ChunkEncoder.create(opts.header)
          : await ChunkDecoder.create(opts.header, opts.limits);
      return new CodecPool(opts.role, [], inline);
    }
    const data: CodecWorkerData = { role: opts.role, header: opts.header, limits: opts.limits };
    const url = opts.workerUrl ?? workerEntryUrl('codec-worker', import.meta.url);
    const slots: Slot[] = [];
    const ready: Promise<void>[] = [];
    const pool = new CodecPool(opts.role, slots, null);
    for (let index = 0; index < count; index++) {
      const slot: Slot = {
        index,
        worker: new Worker(url, { workerData: data, resourceLimits: WORKER_LIMITS, env: workerEnv() }),
        busy: 0,
        tasks: new Map(),
        starting: null,
      };
      ready.push(new Promise<void>((resolve, reject) => (slot.starting = { resolve, reject })));
      slots.push(slot);
      // Watched from the first moment: a worker that dies after reporting ready, while others are still starting,
      // must not leave start() handing out a pool with a dead thread (its tasks would never settle).
      pool.#attach(slot);
    }
    const onAbort = () => void pool.close();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(ready);
      if (pool.#failure) throw pool.#failure;
      if (opts.signal?.aborted) throw new AbortedError(undefined, { cause: opts.signal.reason });
    } catch (err) {
      await pool.close();
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return pool;
  }

  /**
   * Thread ids of this pool's worker threads that are still running, for diagnostics (logs, leak checks). The runtime
   * sets a stopped worker's threadId to -1, so a closed or failed pool reports none; an inline pool has none.
   */
  get threadIds(): number[] {
    return this.#slots.map((s) => s.worker.threadId).filter((id) => id >= 0);
  }

  #attach(slot: Slot): void {
    slot.worker.on('message', (msg: CodecReply | { ready: boolean; error?: SerializedError }) => {
      const starting = slot.starting;
      if (starting) {
        slot.starting = null;
        const status = msg as { ready: boolean; error?: SerializedError };
        if (status.ready) starting.resolve();
        else starting.reject(deserializeError(status.error!));
        return;
      }
      const reply = msg as CodecReply;
      const task = slot.tasks.get(reply.id);
      if (!task) return;
      slot.tasks.delete(reply.id);
      slot.busy--;
      task.resolve(reply);
    });
    const crash = (err: Error) => {
      const starting = slot.starting;
      slot.starting = null;
      if (starting) starting.reject(err);
      else this.#fail(err, slot);
    };
    slot.worker.on('error', (err) => crash(new WorkerCrashedError(slot.index, err.message, { cause: err })));
    slot.worker.on('exit', (code) => {
      if (this.#closed) return;
      crash(
        new WorkerCrashedError(
          slot.index,
          slot.starting ? `exited with code ${code} at start` : `exited unexpectedly with code ${code}`,
        ),
      );
    });
  }

  #fail(err: Error, origin?: Slot): void {
    if (!this.#failure) this.#failure = err;
    for (const slot of this.#slots) {
      // Still starting: the pool is failing (another worker died, or close()), so start() must not wait for it.
      slot.starting?.reject(this.#failure);
      slot.starting = null;
      for (const task of slot.tasks.values()) task.reject(this.#failure);
      slot.tasks.clear();
      slot.busy = 0;
    }
    if (origin && !this.#closed) void this.close();
  }

  #submit(req: CodecRequest): Promise<CodecReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new AbortedError('the codec pool is closed'));
    let best = this.#slots[0]!;
    for (const slot of this.#slots) if (slot.busy < best.busy) best = slot;
    return new Promise<CodecReply>((resolve, reject) => {
      best.tasks.set(req.id, { resolve, reject });
      best.busy++;
      best.worker.postMessage(req, req.out ? [req.buf, req.out] : [req.buf]);
    });
  }

  /**
   * Encodes `raw` (seq and offset as the stream writer expects). `raw.buffer` is moved to the worker: the caller must
   * not touch it until the result hands it back as `input`. `raw` must start at offset 0 of its buffer. `out`, when
   * given (at least `encodedChunkCapacity(header)` bytes), is moved too and the result is written into
   * it (`chunk.bytes` is then a view of `out`); the caller hands it in again once it wrote those bytes.
   */
  async encode(seq: number, rawOffset: number, raw: Uint8Array<ArrayBuffer>, out?: ArrayBuffer): Promise<EncodeResult> {
    if (this.#inline) {
      if (this.#closed) throw new AbortedError('the codec pool is closed');
      const into = out ? new Uint8Array(out) : undefined;
      return { chunk: (this.#inline as ChunkEncoder).encode(seq, rawOffset, raw, into), input: raw.buffer };
    }
    const reply = await this.#submit({
      op: 'encode',
      id: this.#nextId++,
      seq,
      rawOffset,
      buf: raw.buffer,
      length: raw.length,
      out,
    });
    if (!reply.ok) throw deserializeError(reply.error);
    return { chunk: { bytes: reply.bytes, descriptor: reply.descriptor! }, input: reply.buf };
  }

  /**
   * Decodes and verifies a chunk. `chunk.data.buffer` is moved to the worker (same rules as encode); so is `out`
   * (at least the chunk's raw size), which then holds the result.
   */
  async decode(chunk: ChunkFrame & { data: Uint8Array<ArrayBuffer> }, out?: ArrayBuffer): Promise<DecodeResult> {
    if (this.#inline) {
      if (this.#closed) throw new AbortedError('the codec pool is closed');
      const into = out ? new Uint8Array(out) : undefined;
      return { data: (this.#inline as ChunkDecoder).decode(chunk, into), input: chunk.data.buffer };
    }
    const reply = await this.#submit({
      op: 'decode',
      id: this.#nextId++,
      descriptor: chunk.descriptor,
      dataOffset: chunk.dataOffset,
      buf: chunk.data.buffer,
      length: chunk.data.length,
      out,
    });
    if (!reply.ok) throw deserializeError(reply.error);
    return { data: reply.bytes, input: reply.buf };
  }

  /**
   * Stops every worker (tasks in flight reject). Idempotent: every call resolves once all threads have stopped, so a
   * caller tearing down after a crash (which already began closing) does not return while threads still run.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#fail(new AbortedError('the codec pool was closed'));
    this.#closing = Promise.all(this.#slots.map((s) => s.worker.terminate().catch(() => {}))).then(() => {});
    return this.#closing;
  }
}
