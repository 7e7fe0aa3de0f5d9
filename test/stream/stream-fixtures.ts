// Shared builders for the stream tests: deterministic device-like data and whole streams in memory.
import {
  ChunkEncoder,
  type Chunking,
  type Codec,
  createStreamHeader,
  encodeStream,
  type StreamHeaderInit,
  StreamWriter,
} from '../../src/stream/index.ts';

export const CODECS: readonly Codec[] = ['none', 'lz4', 'zstd'];
export const FIXED_64K: Chunking = { mode: 'fixed', size: 65536, min: 65536, max: 65536 };
export const CDC_16K: Chunking = { mode: 'cdc', size: 16384, min: 4096, max: 65536 };

/** Device-like bytes: compressible text-ish runs, a zero region and an incompressible tail (seeded). */
export function deviceBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const third = Math.floor(n / 3);
  for (let i = 0; i < third; i++) out[i] = 0x41 + ((i >> 6) % 23) + (rnd() % 7 === 0 ? 1 : 0);
  // zeros from third to 2*third
  for (let i = 2 * third; i < n; i++) out[i] = rnd() & 0xff;
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export async function encodeAll(data: Uint8Array, init: StreamHeaderInit, pieces = 3): Promise<Uint8Array> {
  const step = Math.max(1, Math.ceil(data.length / pieces));
  const input: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += step) input.push(data.subarray(o, o + step));
  const out: Uint8Array[] = [];
  for await (const b of encodeStream(input, init)) out.push(b);
  return concat(out);
}

export interface FramedStream {
  bytes: Uint8Array;
  /** [offset, length, kind] of every frame (a chunk counts as one: descriptor + data frame). */
  frames: { offset: number; length: number; kind: 'header' | 'section' | 'chunk' | 'trailer' }[];
}

/** A stream with a pre-copy round and a STOP_COPY part, and where each frame sits. */
export async function framedStream(codec: Codec, data: Uint8Array, streamId?: Uint8Array): Promise<FramedStream> {
  const header = createStreamHeader({
    codec,
    chunking: FIXED_64K,
    migrationFlags: 5,
    device: { id: 'sim:test', profile: 'test' },
    expectedBytes: data.length,
    streamId,
  });
  const writer = new StreamWriter(header);
  const encoder = await ChunkEncoder.create(header);
  const frames: FramedStream['frames'] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  const put = (b: Uint8Array, kind: FramedStream['frames'][number]['kind']) => {
    frames.push({ offset, length: b.length, kind });
    parts.push(b);
    offset += b.length;
  };
  put(writer.headerBytes(), 'header');
  const half = Math.floor(data.length / 2);
  for (const [kind, part] of [
    ['pre-copy', data.subarray(0, half)],
    ['stop-copy', data.subarray(half)],
  ] as const) {
    put(writer.beginSection(kind, part.length), 'section');
    for (let o = 0; o < part.length; o += FIXED_64K.size) {
      const chunk = encoder.encode(writer.nextSeq, writer.nextRawOffset, part.subarray(o, o + FIXED_64K.size));
      writer.addChunk(chunk);
      put(chunk.bytes, 'chunk');
    }
  }
  put(writer.trailerBytes(), 'trailer');
  return { bytes: concat(parts), frames };
}
