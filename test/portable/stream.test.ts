// Deno: the stream format encodes and decodes in this runtime for every codec it offers (zstd through node:zlib
// where Deno has it, else the zstd-codec fallback), and damage is still detected.
import assert from 'node:assert/strict';
import { StreamFormatError } from '../../src/errors.ts';
import { type Codec, decodeStream, encodeStream, zstdBackend } from '../../src/stream/index.ts';

function sample(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = i < n / 3 ? 0x61 + ((i >> 5) % 13) : i < (2 * n) / 3 ? 0 : x >>> 24;
  }
  return out;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function* data(events: AsyncIterable<{ data?: Uint8Array }>): AsyncGenerator<Uint8Array> {
  for await (const ev of events) if (ev.data) yield ev.data;
}

for (const codec of ['none', 'lz4', 'zstd'] as Codec[]) {
  Deno.test(`stream round trip with ${codec}`, async () => {
    if (codec === 'zstd') console.log(`zstd backend: ${await zstdBackend()}`);
    const raw = sample(300_000);
    const chunking = { mode: 'fixed' as const, size: 65536, min: 65536, max: 65536 };
    const stream = await collect(encodeStream([raw.subarray(0, 100_000), raw.subarray(100_000)], { codec, chunking }));
    assert.deepEqual(await collect(data(decodeStream([stream]))), raw);
    const bad = stream.slice();
    bad[Math.floor(bad.length * 0.8)]! ^= 2;
    await assert.rejects(collect(data(decodeStream([bad]))), StreamFormatError);
  });
}
