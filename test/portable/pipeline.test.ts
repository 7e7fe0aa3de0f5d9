// Deno: the data pipeline with real codec worker threads (node:worker_threads running src/pipeline/codec-worker.ts)
// round-trips LZ4 and zstd streams, and a damaged chunk found inside a worker comes back as the stream format's own
// typed error, with nothing from that chunk on handed to the sink. Deno's sanitizers also fail a test that leaves a
// worker thread or another resource behind.
import assert from 'node:assert/strict';
import { StreamCorruptError, StreamFormatError } from '../../src/errors.ts';
import { type ByteSink, loadStream, saveStream } from '../../src/pipeline/index.ts';
import { type Codec, StreamParser } from '../../src/stream/index.ts';

declare const Deno: { test(name: string, fn: () => void | Promise<void>): void };

const CHUNK = 256 << 10;

/** Text-like, zero and noise pages, so chunks compress, collapse to zero frames, or are stored. */
function deviceBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 0x2545f491;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const kind = (i >> 16) % 3;
    out[i] = kind === 0 ? 0x61 + ((x >>> 8) % 7) : kind === 1 ? 0 : x & 0xff;
  }
  return out;
}

function collector(): { sink: ByteSink; bytes(): Uint8Array; ended(): boolean } {
  const parts: Uint8Array[] = [];
  let ended = false;
  const sink: ByteSink = {
    name: 'collector',
    async write(data) {
      parts.push(data.slice());
    },
    async end() {
      ended = true;
    },
    async abort() {},
  };
  const bytes = () => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return { sink, bytes, ended: () => ended };
}

const data = deviceBytes(12 * CHUNK);

for (const codec of ['lz4', 'zstd'] as Codec[]) {
  Deno.test(`pipeline round trip with ${codec} through 2 codec worker threads`, async () => {
    const saved = collector();
    const save = await saveStream([data.subarray(0, 1_000_000), data.subarray(1_000_000)], saved.sink, {
      codec,
      chunkSize: CHUNK,
      workers: 2,
      expectedBytes: data.length,
    });
    assert.equal(save.workers, 2);
    assert.equal(save.bytes, data.length);
    assert.ok(save.ratio < 0.8, `ratio ${save.ratio}`);
    assert.ok(saved.ended());
    const stream = saved.bytes();
    assert.equal(save.wireBytes, stream.length);

    const loaded = collector();
    const load = await loadStream([stream], loaded.sink, { workers: 2 });
    assert.equal(load.workers, 2);
    assert.equal(load.header.codec, codec);
    assert.equal(load.trailer.chunkCount, 12);
    assert.ok(loaded.ended());
    assert.deepEqual(loaded.bytes(), data);
  });
}

Deno.test('a corrupted chunk decoded in a worker thread rejects with VFM_STREAM_CORRUPT at its offset', async () => {
  const saved = collector();
  await saveStream([data], saved.sink, { codec: 'lz4', chunkSize: CHUNK, workers: 2 });
  const stream = saved.bytes();
  // Damage one byte in the middle of chunk 4's data frame; its descriptor and framing stay intact.
  const parser = new StreamParser();
  parser.push(stream.slice());
  let target: { offset: number; length: number; dataOffset: number; dataLength: number } | null = null;
  for (let f = parser.next(); f; f = parser.next()) {
    if (f.type === 'chunk' && f.chunk.descriptor.seq === 4) {
      target = { offset: f.offset, length: f.length, dataOffset: f.chunk.dataOffset, dataLength: f.chunk.data.length };
    }
  }
  assert.ok(target);
  const bad = stream.slice();
  bad[target.dataOffset + (target.dataLength >> 1)]! ^= 0x04;

  const loaded = collector();
  const err = await loadStream([bad], loaded.sink, { workers: 2 }).catch((e: unknown) => e);
  assert.ok(err instanceof StreamFormatError, `got ${String(err)}`);
  assert.ok(err instanceof StreamCorruptError, `got ${(err as Error).name}: ${(err as Error).message}`);
  assert.equal(err.code, 'VFM_STREAM_CORRUPT');
  assert.ok(
    err.offset >= target.offset && err.offset < target.offset + target.length,
    `offset ${err.offset} outside chunk 4 [${target.offset}, ${target.offset + target.length})`,
  );
  const got = loaded.bytes();
  assert.ok(got.length <= 4 * CHUNK, `${got.length} bytes reached the sink`);
  assert.deepEqual(got, data.subarray(0, got.length));
  assert.equal(loaded.ended(), false);
});
