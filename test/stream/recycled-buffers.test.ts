// The data path reuses its buffers: the parser reads from one read buffer (pushTransient) and copies each chunk's
// data frame into an array the caller recycles; encoder and decoder write into buffers an earlier chunk used. These
// tests prove that reuse never shows: every chunk comes out as a parse of fresh, never-reused memory gives it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChunkDecoder,
  ChunkEncoder,
  type ChunkFrame,
  createStreamHeader,
  encodedChunkCapacity,
  fixedChunking,
  StreamParser,
} from '../../src/stream/index.ts';
import { CDC_16K, CODECS, deviceBytes, encodeAll, FIXED_64K } from './stream-fixtures.ts';

interface Seen {
  seq: number;
  dataOffset: number;
  data: Uint8Array;
}

/** Parses `stream` as a loader does, read sizes from `sizes` (cycled), recycling every chunk's buffer at once. */
function parseRecycling(stream: Uint8Array, sizes: number[]): Seen[] {
  const pool: ArrayBuffer[] = [];
  const parser: StreamParser = new StreamParser({
    allocate: (size) => {
      const max = parser.header!.maxFrameSize;
      return new Uint8Array(pool.pop() ?? new ArrayBuffer(max), 0, size);
    },
  });
  const readBuf = new Uint8Array(Math.max(...sizes));
  const seen: Seen[] = [];
  let i = 0;
  for (let o = 0; o < stream.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, stream.length - o);
    readBuf.set(stream.subarray(o, o + n));
    o += n;
    parser.pushTransient(readBuf.subarray(0, n));
    for (let f = parser.next(); f; f = parser.next()) {
      if (f.type !== 'chunk') continue;
      const { data } = f.chunk;
      seen.push({ seq: f.chunk.descriptor.seq, dataOffset: f.chunk.dataOffset, data: data.slice() });
      data.fill(0xee); // a recycled buffer is overwritten by whatever comes next
      pool.push(data.buffer as ArrayBuffer);
    }
    readBuf.fill(0xdd, 0, n); // so is the read buffer
  }
  parser.end();
  return seen;
}

function parsePlain(stream: Uint8Array): Seen[] {
  const parser = new StreamParser();
  parser.push(stream);
  const seen: Seen[] = [];
  for (let f = parser.next(); f; f = parser.next()) {
    if (f.type === 'chunk')
      seen.push({ seq: f.chunk.descriptor.seq, dataOffset: f.chunk.dataOffset, data: f.chunk.data });
  }
  parser.end();
  return seen;
}

describe('recycled buffers', () => {
  it('a stream read through one reused read buffer, chunk arrays recycled at once, parses as fresh memory does', async () => {
    const streams = await Promise.all(
      CODECS.flatMap((codec) => [
        encodeAll(deviceBytes(300_000, 3), { codec, chunking: FIXED_64K }),
        encodeAll(deviceBytes(200_000, 9), { codec, chunking: CDC_16K }),
      ]),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: streams.length - 1 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1000, max: 200_000 })), {
          minLength: 2,
          maxLength: 8,
        }),
        (which, sizes) => {
          const stream = streams[which]!;
          const got = parseRecycling(stream, sizes);
          const want = parsePlain(stream);
          expect(got.map((c) => [c.seq, c.dataOffset])).toEqual(want.map((c) => [c.seq, c.dataOffset]));
          for (const [i, c] of got.entries()) expect(Buffer.compare(c.data, want[i]!.data)).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a stream cut off inside a chunk reports how much of its data frame arrived, at its descriptor', async () => {
    const stream = await encodeAll(deviceBytes(200_000, 1), { codec: 'none', chunking: FIXED_64K });
    const first = parsePlain(stream)[0]!;
    const cut = first.dataOffset + 1000;
    const parser = new StreamParser();
    for (let o = 0; o < cut; o += 300) {
      parser.pushTransient(stream.slice(o, Math.min(cut, o + 300)));
      while (parser.next());
    }
    expect(() => parser.end()).toThrow(/ends inside chunk 0 \(1000 of its \d+ data frame bytes\)/);
  });

  it('encoder and decoder writing into buffers used before give the bytes fresh arrays give', async () => {
    for (const codec of CODECS) {
      const header = createStreamHeader({ codec, chunking: fixedChunking(65536) });
      const enc = await ChunkEncoder.create(header);
      const dec = await ChunkDecoder.create(header);
      const out = new Uint8Array(encodedChunkCapacity(header)).fill(0xaa);
      const raw = new Uint8Array(65536).fill(0xbb);
      const data = deviceBytes(65536 * 6, 4);
      for (let seq = 0; seq < 6; seq++) {
        const piece = seq === 3 ? new Uint8Array(65536) : data.subarray(seq * 65536, (seq + 1) * 65536);
        const fresh = enc.encode(seq, seq * 65536, piece);
        const reused = enc.encode(seq, seq * 65536, piece, out);
        expect(reused.bytes.buffer).toBe(out.buffer);
        expect(Buffer.compare(reused.bytes, fresh.bytes)).toBe(0);
        expect(reused.descriptor).toEqual(fresh.descriptor);
        const dataOffset = fresh.bytes.length - fresh.descriptor.encodedLength;
        const frame: ChunkFrame = {
          descriptor: fresh.descriptor,
          dataOffset,
          data: fresh.bytes.subarray(dataOffset),
        };
        const decoded = dec.decode(frame, raw);
        expect(decoded.buffer).toBe(raw.buffer);
        expect(Buffer.compare(decoded, piece)).toBe(0);
      }
      expect(() => enc.encode(9, 0, data.subarray(0, 10), new Uint8Array(100))).toThrow(/output buffer/);
    }
  });
});
