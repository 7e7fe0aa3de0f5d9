// How fast this machine encodes and decodes a sample with one strategy (codec, level, chunking, chunk size,
// workers), and how small the stream gets: the real pipeline (saveStream's StreamSaver, loadStream) over the sample
// in memory, timed from the moment its codec threads are ready, as a migration starts them before its downtime.
import { throwIfAborted } from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { defaultWorkerCount } from '../pipeline/codec-pool.ts';
import { loadStream } from '../pipeline/stream-loader.ts';
import { StreamSaver } from '../pipeline/stream-saver.ts';
import type { Codec } from '../stream/index.ts';

export interface Strategy {
  codec: Codec;
  /** zstd's level; 1 for lz4 and none (recorded, unused). */
  level: number;
  chunking: 'fixed' | 'cdc';
  /** Fixed: the chunk size; CDC: the average. */
  chunkSize: number;
  /** Codec threads in all. */
  workers: number;
}

export interface StrategyMeasurement {
  strategy: Strategy;
  /** Raw bytes of the sample. */
  bytes: number;
  /** Stream bytes they became (header, records and trailer included). */
  wireBytes: number;
  ratio: number;
  encodeMs: number;
  /** Null where only the encoding side was measured. */
  decodeMs: number | null;
  /** Raw bytes per second through the encoding side, and through the decoding side. */
  encodeRate: number;
  decodeRate: number | null;
}

/** `a/b` as strategies are written in tables and logs: `zstd:3 cdc/256k x2`. */
export function strategyName(s: Strategy): string {
  const size = s.chunkSize % (1 << 20) === 0 ? `${s.chunkSize >> 20}m` : `${s.chunkSize >> 10}k`;
  return `${s.codec}${s.codec === 'zstd' ? `:${s.level}` : ''} ${s.chunking}/${size} x${s.workers}`;
}

export const sameStrategy = (a: Strategy, b: Strategy) =>
  a.codec === b.codec &&
  (a.codec !== 'zstd' || a.level === b.level) &&
  a.chunking === b.chunking &&
  a.chunkSize === b.chunkSize &&
  a.workers === b.workers;

/** The encodings tried, cheapest first: what a link of any speed might want. */
export const ENCODINGS: readonly { codec: Codec; level: number }[] = [
  { codec: 'lz4', level: 1 },
  { codec: 'none', level: 1 },
  { codec: 'zstd', level: 1 },
  { codec: 'zstd', level: 3 },
  { codec: 'zstd', level: 9 },
];

/** The chunkings tried: the default, smaller fixed chunks (finer parallelism), and content-defined. */
export const CHUNKINGS: readonly { chunking: 'fixed' | 'cdc'; chunkSize: number }[] = [
  { chunking: 'fixed', chunkSize: 1 << 20 },
  { chunking: 'fixed', chunkSize: 256 << 10 },
  { chunking: 'cdc', chunkSize: 256 << 10 },
];

/** Worker counts worth trying on this machine: 1 up to the default count. */
export function workerCounts(max: number = defaultWorkerCount()): number[] {
  return Array.from({ length: Math.max(1, max) }, (_, i) => i + 1);
}

function arraySource(data: Uint8Array): ByteSource {
  let at = 0;
  return {
    name: 'sample',
    async read(into) {
      const n = Math.min(into.length, data.length - at);
      into.set(data.subarray(at, at + n));
      at += n;
      return n;
    },
    async close() {},
  };
}

function partsSource(parts: Uint8Array[]): ByteSource {
  let i = 0;
  let off = 0;
  return {
    name: 'sample stream',
    async read(into) {
      let n = 0;
      while (n < into.length && i < parts.length) {
        const p = parts[i]!;
        const take = Math.min(into.length - n, p.length - off);
        into.set(p.subarray(off, off + take), n);
        n += take;
        off += take;
        if (off === p.length) {
          i++;
          off = 0;
        }
      }
      return n;
    },
    async close() {},
  };
}

const collect = (parts: Uint8Array[]): ByteSink => ({
  name: 'sample stream',
  async write(data) {
    parts.push(data.slice());
  },
  async end() {},
  async abort() {},
});

const discard: ByteSink = {
  name: 'discard',
  async write() {},
  async end() {},
  async abort() {},
};

/** Encodes `sample` with `strategy`, decodes the stream back (unless `decode: false`), and times both sides. */
export async function measureStrategy(
  sample: Uint8Array,
  strategy: Strategy,
  opts: { signal?: AbortSignal | undefined; decode?: boolean | undefined } = {},
): Promise<StrategyMeasurement> {
  throwIfAborted(opts.signal);
  const parts: Uint8Array[] = [];
  const saver = await StreamSaver.open(collect(parts), {
    codec: strategy.codec,
    level: strategy.codec === 'zstd' ? strategy.level : undefined,
    chunking: strategy.chunking,
    chunkSize: strategy.chunkSize,
    workers: strategy.workers,
    expectedBytes: sample.length,
    signal: opts.signal,
  });
  let encodeMs: number;
  try {
    const t0 = performance.now();
    await saver.section('stop-copy', arraySource(sample), { expectedBytes: sample.length });
    await saver.finish();
    encodeMs = performance.now() - t0;
  } catch (err) {
    await saver.abort(err);
    throw err;
  }
  const wireBytes = parts.reduce((a, p) => a + p.length, 0);
  const rate = (ms: number) => (sample.length * 1000) / Math.max(1e-3, ms);
  const measured = (decodeMs: number | null) => ({
    strategy,
    bytes: sample.length,
    wireBytes,
    ratio: wireBytes / Math.max(1, sample.length),
    encodeMs,
    decodeMs,
    encodeRate: rate(encodeMs),
    decodeRate: decodeMs === null ? null : rate(decodeMs),
  });
  if (opts.decode === false) return measured(null);
  // the receiver's threads start at the stream header, before the downtime: timed from when the sink is asked for
  let decodeStart = 0;
  await loadStream(
    partsSource(parts),
    () => {
      decodeStart = performance.now();
      return discard;
    },
    { workers: strategy.workers, signal: opts.signal },
  );
  return measured(performance.now() - decodeStart);
}
