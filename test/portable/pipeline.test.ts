import { saveStream, loadStream, sinkFromCallback } from '../../src/pipeline/index.ts';
const data = new Uint8Array(3 << 20); for (let i = 0; i < data.length; i++) data[i] = (i * 31) >> 7 & 0xff;
for (const codec of ['lz4', 'zstd'] as const) {
  const parts: Uint8Array[] = [];
  const r = await saveStream([data], sinkFromCallback((c) => void parts.push(c)), { codec, workers: 2, chunkSize: 256 << 10 });
  console.log(codec, r.workers, r.wireBytes);
  const out: Uint8Array[] = [];
  const l = await loadStream(parts, sinkFromCallback((c) => void out.push(c.slice())), { workers: 2 });
  console.log('loaded', l.bytes, l.workers);
}
