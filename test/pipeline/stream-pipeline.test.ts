import { availableParallelism } from 'node:os';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedError, VfioMigrateError } from '../../src/errors.ts';
import {
  autoWorkerCount,
  type ByteSink,
  decodeToIterable,
  defaultWorkerCount,
  encodeToIterable,
  loadStream,
  saveStream,
  sinkFromCallback,
  sourceFromWebReadable,
  toWebReadable,
} from '../../src/pipeline/index.ts';
import type { Codec } from '../../src/stream/index.ts';

/** Deterministic device-like bytes: zero pages, text-like pages and incompressible pages. */
function deviceBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let page = 0; page * 4096 < size; page++) {
    const start = page * 4096;
    const end = Math.min(size, start + 4096);
    const kind = (page * 7 + seed) % 4;
    for (let i = start; i < end; i++) {
      if (kind === 0) break;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = kind === 1 ? x & 0xff : kind === 2 ? 97 + ((x >>> 8) % 6) : i & 0xff;
    }
  }
  return out;
}

function collect(): { sink: ByteSink; bytes(): Buffer } {
  const parts: Uint8Array[] = [];
  return { sink: sinkFromCallback((c) => void parts.push(c)), bytes: () => Buffer.concat(parts) };
}

function pieces(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    if (p > prev) out.push(data.subarray(prev, p));
    prev = p;
  }
  return out;
}

async function encode(data: Uint8Array, opts: Parameters<typeof saveStream>[2] = {}) {
  const out = collect();
  const result = await saveStream([data], out.sink, opts);
  return { stream: out.bytes(), result };
}

describe('save and load pipeline', () => {
  const data = deviceBytes(3 << 20, 5);
  for (const codec of ['lz4', 'zstd', 'none'] as Codec[]) {
    for (const chunking of ['fixed', 'cdc'] as const) {
      it(`round-trips ${codec} with ${chunking} chunking through 2 workers`, async () => {
        const { stream, result } = await encode(data, {
          codec,
          chunking,
          chunkSize: chunking === 'cdc' ? 64 << 10 : 256 << 10,
          workers: 2,
        });
        expect(result.bytes).toBe(data.length);
        expect(result.wireBytes).toBe(stream.length);
        if (codec !== 'none') expect(result.ratio).toBeLessThan(0.9);
        const out = collect();
        const loaded = await loadStream([stream], out.sink, { workers: 2 });
        expect(Buffer.compare(out.bytes(), data)).toBe(0);
        expect(loaded.trailer.chunkCount).toBe(result.totals.chunkCount);
        expect(loaded.header.codec).toBe(codec);
      });
    }
  }

  it('produces the same stream whatever the source segmentation and worker count (order is preserved)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300_000 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom<Codec>('lz4', 'zstd', 'none'),
        fc.constantFrom<'fixed' | 'cdc'>('fixed', 'cdc'),
        async (size, cuts, codec, chunking) => {
          const input = deviceBytes(size, size);
          const streamId = new Uint8Array(16).fill(7);
          const opts = { codec, chunking, chunkSize: chunking === 'cdc' ? 8192 : 16384, streamId, workers: 0 };
          const whole = collect();
          await saveStream([input], whole.sink, opts);
          const split = collect();
          await saveStream(pieces(input, cuts), split.sink, opts);
          // the header carries a creation time: compare what follows it
          const a = whole.bytes();
          const b = split.bytes();
          expect(b.length).toBe(a.length);
          const out = collect();
          await loadStream(
            pieces(
              b,
              cuts.map((c) => c * 7),
            ),
            out.sink,
            { workers: 0 },
          );
          expect(Buffer.compare(out.bytes(), input)).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('slows the source down to the sink: bytes in flight never exceed the budget', async () => {
    const chunk = 64 << 10;
    const budget = 6 * (chunk + 1024);
    let read = 0;
    let written = 0;
    let worst = 0;
    async function* source() {
      for (let i = 0; i < 96; i++) {
        read += chunk;
        worst = Math.max(worst, read - written);
        yield deviceBytes(chunk, i);
      }
    }
    const sink = sinkFromCallback(async (c) => {
      await new Promise((r) => setTimeout(r, 2));
      written += c.length;
    });
    const result = await saveStream(source(), sink, { chunkSize: chunk, workers: 2, budget, codec: 'none' });
    expect(result.bytes).toBe(96 * chunk);
    expect(result.peakInFlight).toBeLessThanOrEqual(budget);
    // raw bytes pulled from the source minus stream bytes accepted by the sink (stored: about the same size)
    expect(worst).toBeLessThanOrEqual(budget + chunk);
  });

  it('refuses a budget that cannot hold one chunk', async () => {
    await expect(
      saveStream([new Uint8Array(10)], collect().sink, { chunkSize: 1 << 20, budget: 1 << 19 }),
    ).rejects.toMatchObject({
      code: 'VFM_PIPELINE_CONFIG',
    });
  });

  it('cancels mid-stream: the save rejects with AbortedError and the sink is torn down', async () => {
    const controller = new AbortController();
    let aborted = false;
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        if (produced === 20) controller.abort();
        yield deviceBytes(64 << 10, produced);
      }
    }
    const sink: ByteSink = {
      name: 'slow',
      write: () => new Promise((r) => setTimeout(r, 1)),
      end: async () => {},
      abort: async () => {
        aborted = true;
      },
    };
    await expect(
      saveStream(endless(), sink, { chunkSize: 64 << 10, workers: 2, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(aborted).toBe(true);
    expect(produced).toBeLessThan(40);
  });

  it('never hands a corrupted chunk to the sink: bytes before it arrive, the rest never do', async () => {
    const input = deviceBytes(2 << 20, 9);
    const { stream } = await encode(input, { chunkSize: 256 << 10, codec: 'lz4', workers: 0 });
    const bad = Buffer.from(stream);
    const at = Math.floor(bad.length * 0.6);
    bad[at]! ^= 0x10;
    const out = collect();
    const err = await loadStream([bad], out.sink, { workers: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(VfioMigrateError);
    expect(err.code).toMatch(/^VFM_STREAM_/);
    expect(typeof err.offset).toBe('number');
    const got = out.bytes();
    expect(got.length).toBeLessThan(input.length);
    expect(Buffer.compare(got, Buffer.from(input.subarray(0, got.length)))).toBe(0);
  });

  it('reports a stream cut short as truncated, after writing only verified chunks', async () => {
    const input = deviceBytes(1 << 20, 3);
    const { stream } = await encode(input, { chunkSize: 128 << 10, workers: 0 });
    for (const cut of [0, 10, stream.length >> 1, stream.length - 1]) {
      const out = collect();
      const err = await loadStream([stream.subarray(0, cut)], out.sink, { workers: 0 }).catch((e) => e);
      expect(err?.code).toBe('VFM_STREAM_TRUNCATED');
      const got = out.bytes();
      expect(Buffer.compare(got, Buffer.from(input.subarray(0, got.length)))).toBe(0);
    }
  });

  it('works as async iterables at the boundary, and through Web Streams', async () => {
    const input = deviceBytes(700_000, 11);
    const encoded = encodeToIterable([input], { chunkSize: 64 << 10, workers: 0 });
    const web = toWebReadable(encoded);
    const decoded: Uint8Array[] = [];
    for await (const piece of decodeToIterable(web, { workers: 0 })) decoded.push(piece.slice());
    expect(Buffer.compare(Buffer.concat(decoded), input)).toBe(0);
  });

  it('reads a Web ReadableStream in pieces of the caller size, and cancels it on close', async () => {
    let cancelled: unknown = null;
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(1000).fill(pulls));
      },
      cancel(reason) {
        cancelled = reason ?? 'cancelled';
      },
    });
    const source = sourceFromWebReadable(stream);
    const into = new Uint8Array(600);
    expect(await source.read(into)).toBe(600);
    expect(into[0]).toBe(1);
    expect(await source.read(into)).toBe(400);
    expect(await source.read(into)).toBe(600);
    expect(into[0]).toBe(2);
    await source.close();
    expect(cancelled).not.toBeNull();
    expect(await source.read(into)).toBe(0);
  });

  it('stops the pipeline when the consumer of an iterable leaves early', async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield deviceBytes(64 << 10, produced);
      }
    }
    let n = 0;
    for await (const _ of encodeToIterable(endless(), { chunkSize: 64 << 10, workers: 1 })) if (++n === 5) break;
    const after = produced;
    await new Promise((r) => setTimeout(r, 100));
    expect(produced).toBe(after);
  });
});

describe('worker count', () => {
  it('starts no threads for a stream announced as two chunks or less or not compressed, the default pool otherwise', async () => {
    expect(autoWorkerCount(96, 1 << 20)).toBe(0);
    expect(autoWorkerCount(2 << 20, 1 << 20)).toBe(0);
    expect(autoWorkerCount((2 << 20) + 1, 1 << 20)).toBe(defaultWorkerCount());
    expect(autoWorkerCount(null, 1 << 20)).toBe(defaultWorkerCount());
    expect(autoWorkerCount(null, 1 << 20, 'zstd')).toBe(defaultWorkerCount());
    expect(autoWorkerCount(null, 1 << 20, 'none')).toBe(0);
    // a simulated device's thread takes a core; with one left, lz4 stays on the calling thread and zstd gets one
    const cpus = availableParallelism();
    const left = cpus - 1;
    expect(autoWorkerCount(null, 1 << 20, 'lz4', 1)).toBe(left >= 2 ? Math.min(4, left) : 0);
    expect(autoWorkerCount(null, 1 << 20, 'zstd', 1)).toBe(left >= 2 ? Math.min(4, left) : 1);
    expect(autoWorkerCount(null, 1 << 20, 'lz4', cpus - 1)).toBe(0);
    expect(autoWorkerCount(null, 1 << 20, 'zstd', cpus)).toBe(1);
    expect(autoWorkerCount(null, 1 << 20, 'none', 1)).toBe(0);
    expect(autoWorkerCount(null, 1 << 20, 'lz4', 0)).toBe(defaultWorkerCount());
    const small = await encode(deviceBytes(96), { expectedBytes: 96 });
    expect(small.result.workers).toBe(0);
    const back = collect();
    const loaded = await loadStream([small.stream], back.sink);
    expect(loaded.workers).toBe(0);
    expect(back.bytes()).toEqual(Buffer.from(deviceBytes(96)));
  });
});
