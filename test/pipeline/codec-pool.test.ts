// Fault injection for the codec worker pool: a worker thread that dies (at start, right after starting, or in the
// middle of a stream, by exiting or by an uncaught exception) turns into VFM_WORKER_CRASHED for the caller, never a
// hang; no thread is left running; and nothing past the last chunk completed in stream order reaches the sink.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, WorkerCrashedError } from '../../src/errors.ts';
import { type ByteSink, CodecPool, loadStream, saveStream } from '../../src/pipeline/index.ts';
import { createStreamHeader, StreamParser } from '../../src/stream/index.ts';
import type { CrashPlan } from './crashing-codec-worker.ts';

const CHUNK = 64 << 10;
const CHUNKS = 16;
const CRASH_SEQ = 5;
const STREAM_ID = new Uint8Array(16).fill(7);
/** Dying workers must surface well within this; a hang fails the test instead of stalling the suite. */
const FAST = 10_000;

const fixture = new URL('./crashing-codec-worker.ts', import.meta.url).href;

/** A worker entry that runs the real codec worker under `plan`. */
function crashingWorkerUrl(plan: CrashPlan): URL {
  const src = `globalThis.crashPlan = ${JSON.stringify(plan)};\nawait import(${JSON.stringify(fixture)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(src)}`);
}

/** Makes every pool the pipeline starts run `plan`; returns the pools started, for inspection afterwards. */
function injectCrash(plan: CrashPlan): CodecPool[] {
  const realStart = CodecPool.start.bind(CodecPool);
  const pools: CodecPool[] = [];
  vi.spyOn(CodecPool, 'start').mockImplementation(async (opts) => {
    const pool = await realStart({ ...opts, workerUrl: crashingWorkerUrl(plan) });
    pools.push(pool);
    return pool;
  });
  return pools;
}

afterEach(() => {
  vi.restoreAllMocks();
});

function deviceBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Half text-like (compresses), half noise (does not), so chunks differ in encoded size.
    out[i] = (i >> 12) % 2 === 0 ? 97 + ((x >>> 8) % 5) : x & 0xff;
  }
  return out;
}

/** A sink that records every byte and whether it was ended or aborted. */
function recordingSink() {
  const parts: Uint8Array[] = [];
  const state = { ended: false, aborted: false };
  const sink: ByteSink = {
    name: 'recording sink',
    async write(data) {
      parts.push(data.slice());
    },
    async end() {
      state.ended = true;
    },
    async abort() {
      state.aborted = true;
    },
  };
  return { sink, state, bytes: () => Buffer.concat(parts) };
}

const data = deviceBytes(CHUNKS * CHUNK);
const saveOpts = { codec: 'lz4', chunkSize: CHUNK, workers: 2, streamId: STREAM_ID } as const;

/** The stream a healthy pipeline writes, and the offsets where each frame ends, plus where chunk CRASH_SEQ starts. */
async function referenceStream() {
  const out = recordingSink();
  await saveStream([data], out.sink, saveOpts);
  const stream = out.bytes();
  const parser = new StreamParser();
  parser.push(stream);
  const frameEnds: number[] = [];
  let crashChunkStart = -1;
  for (let f = parser.next(); f; f = parser.next()) {
    if (f.type === 'chunk' && f.chunk.descriptor.seq === CRASH_SEQ) crashChunkStart = f.offset;
    frameEnds.push(f.offset + f.length);
  }
  return { stream, frameEnds, crashChunkStart };
}

describe('a codec worker that dies mid-stream', () => {
  for (const how of ['exit', 'throw'] as const) {
    it(
      `fails saveStream with VFM_WORKER_CRASHED (${how}), stops every thread and writes only whole chunks before it`,
      async () => {
        const ref = await referenceStream();
        expect(ref.crashChunkStart).toBeGreaterThan(0);
        const pools = injectCrash({ how, when: { seq: CRASH_SEQ }, exitCode: 70 });
        const out = recordingSink();

        const err = await saveStream([data], out.sink, saveOpts).catch((e: unknown) => e);

        expect(err).toBeInstanceOf(WorkerCrashedError);
        expect((err as WorkerCrashedError).code).toBe('VFM_WORKER_CRASHED');
        expect((err as Error).message).toMatch(how === 'exit' ? /exited unexpectedly with code 70/ : /injected crash/);
        expect(pools).toHaveLength(1);
        expect(pools[0]!.size).toBe(2);
        expect(pools[0]!.threadIds).toEqual([]);
        // A prefix of the healthy stream that ends on a frame boundary before the lost chunk; torn down, not ended.
        // (The header records its creation time: compare from the end of the header on.)
        const got = out.bytes();
        const headerEnd = ref.frameEnds[0]!;
        expect(got.length).toBeGreaterThanOrEqual(headerEnd);
        expect(got.length).toBeLessThanOrEqual(ref.crashChunkStart);
        expect(ref.frameEnds).toContain(got.length);
        expect(Buffer.compare(got.subarray(headerEnd), ref.stream.subarray(headerEnd, got.length))).toBe(0);
        expect(out.state).toEqual({ ended: false, aborted: true });
      },
      FAST,
    );
  }

  it(
    'fails loadStream with VFM_WORKER_CRASHED, stops every thread and writes only whole chunks before it',
    async () => {
      const { stream } = await referenceStream();
      const pools = injectCrash({ how: 'exit', when: { seq: CRASH_SEQ }, exitCode: 71 });
      const out = recordingSink();

      const err = await loadStream([stream], out.sink, { workers: 2 }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(WorkerCrashedError);
      expect((err as WorkerCrashedError).code).toBe('VFM_WORKER_CRASHED');
      expect((err as Error).message).toMatch(/exited unexpectedly with code 71/);
      expect(pools).toHaveLength(1);
      expect(pools[0]!.threadIds).toEqual([]);
      const got = out.bytes();
      expect(got.length % CHUNK).toBe(0);
      expect(got.length).toBeLessThanOrEqual(CRASH_SEQ * CHUNK);
      expect(Buffer.compare(got, Buffer.from(data.subarray(0, got.length)))).toBe(0);
      expect(out.state).toEqual({ ended: false, aborted: true });
    },
    FAST,
  );
});

describe('a codec worker that dies while the pool starts', () => {
  const header = createStreamHeader({
    codec: 'lz4',
    chunking: { mode: 'fixed', size: CHUNK, min: CHUNK, max: CHUNK },
  });

  it(
    'rejects CodecPool.start with VFM_WORKER_CRASHED when a thread exits at start',
    async () => {
      const start = CodecPool.start({
        role: 'encode',
        header,
        workers: 2,
        workerUrl: crashingWorkerUrl({ how: 'exit', when: 'start', exitCode: 3 }),
      });
      await expect(start).rejects.toThrow(WorkerCrashedError);
      await expect(start).rejects.toMatchObject({ code: 'VFM_WORKER_CRASHED', message: /exited with code 3 at start/ });
    },
    FAST,
  );

  it(
    'rejects CodecPool.start with VFM_WORKER_CRASHED when a thread throws at start',
    async () => {
      const start = CodecPool.start({
        role: 'decode',
        header,
        workers: 2,
        workerUrl: crashingWorkerUrl({ how: 'throw', when: 'start' }),
      });
      await expect(start).rejects.toMatchObject({ code: 'VFM_WORKER_CRASHED', message: /injected crash at start/ });
    },
    FAST,
  );

  it(
    'rejects CodecPool.start when a thread dies after reporting ready while another is still starting',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vfm-pool-'));
      try {
        const start = CodecPool.start({
          role: 'encode',
          header,
          workers: 2,
          workerUrl: crashingWorkerUrl({
            how: 'exit',
            when: 'after-ready',
            exitCode: 9,
            lockFile: join(dir, 'first'),
            delayMs: 300,
          }),
        });
        // Before the fix this resolved with a pool holding a dead thread, whose tasks never settled.
        await expect(start).rejects.toMatchObject({
          code: 'VFM_WORKER_CRASHED',
          message: /exited unexpectedly with code 9/,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    FAST,
  );

  it(
    'rejects CodecPool.start with VFM_ABORTED, not a crash, when aborted while the threads start',
    async () => {
      const ac = new AbortController();
      const start = CodecPool.start({ role: 'encode', header, workers: 2, signal: ac.signal });
      ac.abort();
      await expect(start).rejects.toThrow(AbortedError);
    },
    FAST,
  );
});

describe('a healthy pool', () => {
  it('reports its running threads and none once closed', async () => {
    const header = createStreamHeader({
      codec: 'zstd',
      chunking: { mode: 'fixed', size: CHUNK, min: CHUNK, max: CHUNK },
    });
    const pool = await CodecPool.start({ role: 'encode', header, workers: 2 });
    const ids = pool.threadIds;
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    const raw = new Uint8Array(new ArrayBuffer(CHUNK));
    raw.set(data.subarray(0, CHUNK));
    const { chunk } = await pool.encode(0, 0, raw);
    expect(chunk.descriptor.rawLength).toBe(CHUNK);
    await pool.close();
    expect(pool.threadIds).toEqual([]);
    await expect(pool.encode(1, CHUNK, new Uint8Array(new ArrayBuffer(CHUNK)))).rejects.toThrow(AbortedError);
  });
});
