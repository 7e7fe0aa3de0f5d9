import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamWriterStateError, UsageError } from '../../src/errors.ts';
import {
  ChunkDecoder,
  ChunkEncoder,
  createStreamHeader,
  decodeStream,
  inspectStream,
  parseStream,
  StreamParser,
  StreamWriter,
} from '../../src/stream/index.ts';
import { CDC_16K, CODECS, concat, deviceBytes, encodeAll, FIXED_64K } from './stream-fixtures.ts';

async function decodeAll(stream: Uint8Array, pieceSize = 7919): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let o = 0; o < stream.length; o += pieceSize) pieces.push(stream.subarray(o, o + pieceSize));
  const out: Uint8Array[] = [];
  for await (const ev of decodeStream(pieces)) if (ev.data) out.push(ev.data);
  return concat(out);
}

describe('encode then decode reproduces the device bytes', () => {
  const data = deviceBytes(600_000, 7);
  for (const codec of CODECS) {
    for (const chunking of [FIXED_64K, CDC_16K]) {
      it(`${codec} with ${chunking.mode} chunking`, async () => {
        const stream = await encodeAll(data, { codec, chunking, device: { id: 'sim:nic' } });
        expect(Buffer.compare(await decodeAll(stream), data)).toBe(0);
        const report = await inspectStream([stream]);
        expect(report.ok).toBe(true);
        expect(report.rawBytes).toBe(data.length);
        expect(report.streamBytes).toBe(stream.length);
        expect(report.zeroChunks).toBeGreaterThan(0);
        if (codec !== 'none') expect(stream.length).toBeLessThan(data.length * 0.6);
      });
    }
  }

  it('any data, any chunk size and any input split round-trips (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CODECS),
        fc.uint8Array({ minLength: 1, maxLength: 40_000 }),
        fc.integer({ min: 1, max: 9000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.boolean(),
        async (codec, bytes, chunkSize, pieceSize, zeroTail) => {
          const data = zeroTail ? concat([bytes, new Uint8Array(chunkSize * 2)]) : bytes;
          const stream = await encodeAll(data, {
            codec,
            chunking: { mode: 'fixed', size: chunkSize, min: chunkSize, max: chunkSize },
          });
          expect(Buffer.compare(await decodeAll(stream, pieceSize), data)).toBe(0);
        },
      ),
      { numRuns: 60, seed: 42 },
    );
  });
});

describe('chunk encoding', () => {
  it('a 1 MiB zero chunk costs well under a kilobyte with zstd and none, and ~0.4% with lz4', async () => {
    const zeros = new Uint8Array(1 << 20);
    for (const [codec, limit] of [
      ['none', 128],
      ['zstd', 128],
      ['lz4', 4300],
    ] as const) {
      const header = createStreamHeader({
        codec,
        chunking: { mode: 'fixed', size: 1 << 20, min: 1 << 20, max: 1 << 20 },
      });
      const enc = await ChunkEncoder.create(header);
      const chunk = enc.encode(0, 0, zeros);
      expect(chunk.descriptor.zero).toBe(true);
      expect(chunk.bytes.length).toBeLessThan(limit);
      const dec = await ChunkDecoder.create(header);
      const data = chunk.bytes.subarray(52);
      expect(Buffer.compare(dec.decode({ descriptor: chunk.descriptor, data, dataOffset: 52 }), zeros)).toBe(0);
    }
  });

  it('incompressible chunks are stored: the frame adds only a few header bytes', async () => {
    const noise = deviceBytes(3 * 65536, 3).subarray(2 * 65536);
    for (const codec of CODECS) {
      const header = createStreamHeader({ codec, chunking: FIXED_64K });
      const chunk = (await ChunkEncoder.create(header)).encode(0, 0, noise);
      expect(chunk.descriptor.stored).toBe(true);
      expect(chunk.descriptor.encodedLength - noise.length).toBeLessThanOrEqual(32);
    }
  });

  it('encoded chunks own their buffers (transferable to workers)', async () => {
    const header = createStreamHeader({ codec: 'lz4', chunking: FIXED_64K });
    const chunk = (await ChunkEncoder.create(header)).encode(0, 0, deviceBytes(65536));
    expect(chunk.bytes.byteOffset).toBe(0);
    expect(chunk.bytes.buffer.byteLength).toBe(chunk.bytes.length);
  });

  it('refuses empty and oversized chunks', async () => {
    const enc = await ChunkEncoder.create(createStreamHeader({ codec: 'zstd', chunking: FIXED_64K }));
    expect(() => enc.encode(0, 0, new Uint8Array(0))).toThrow(UsageError);
    expect(() => enc.encode(0, 0, new Uint8Array(65537))).toThrow(UsageError);
  });
});

describe('stream writer and parser', () => {
  it('the header survives a round trip with device identity and sizes', async () => {
    const streamId = new Uint8Array(16).fill(9);
    const stream = await encodeAll(deviceBytes(1000), {
      codec: 'zstd',
      level: 5,
      chunking: CDC_16K,
      migrationFlags: 7,
      device: { id: 'sim:gpu,seed=3', profile: 'gpu', big: 12n },
      expectedBytes: 1000,
      streamId,
      createdAt: 1_700_000_000_000,
    });
    const frames = [];
    for await (const f of parseStream([stream])) frames.push(f);
    const first = frames[0]!;
    expect(first.type).toBe('header');
    if (first.type !== 'header') return;
    expect(first.header).toMatchObject({
      version: { major: 1, minor: 1 },
      codec: 'zstd',
      level: 5,
      chunking: CDC_16K,
      migrationFlags: 7,
      device: { id: 'sim:gpu,seed=3', profile: 'gpu', big: '12' },
      expectedBytes: 1000,
      createdAt: 1_700_000_000_000,
    });
    expect(first.header.streamId).toEqual(streamId);
    expect(frames.map((f) => f.type)).toEqual(['header', 'section', 'chunk', 'trailer']);
  });

  it('the writer refuses chunks out of sequence and records after the trailer', async () => {
    const header = createStreamHeader({ codec: 'none', chunking: FIXED_64K });
    const writer = new StreamWriter(header);
    const enc = await ChunkEncoder.create(header);
    expect(() => writer.beginSection('stop-copy')).toThrow(StreamWriterStateError);
    writer.headerBytes();
    const c0 = enc.encode(0, 0, new Uint8Array(10).fill(1));
    expect(() => writer.addChunk(c0)).toThrow(/before any section/);
    writer.beginSection('pre-copy');
    writer.addChunk(c0);
    expect(() => writer.addChunk(c0)).toThrow(/again/);
    expect(() => writer.addChunk(enc.encode(2, 10, new Uint8Array(5)))).toThrow(/belongs/);
    writer.beginSection('stop-copy');
    expect(() => writer.beginSection('pre-copy')).toThrow(/STOP_COPY/);
    writer.trailerBytes();
    expect(() => writer.trailerBytes()).toThrow(StreamWriterStateError);
  });

  it('the parser buffers one frame at most, whatever the stream length', async () => {
    const stream = await encodeAll(deviceBytes(2_000_000, 5), { codec: 'lz4', chunking: FIXED_64K });
    const parser = new StreamParser();
    let peak = 0;
    for (let o = 0; o < stream.length; o += 4096) {
      parser.push(stream.subarray(o, o + 4096));
      peak = Math.max(peak, parser.buffered);
      while (parser.next());
    }
    parser.end();
    expect(parser.done).toBe(true);
    expect(peak).toBeLessThanOrEqual(65536 + 128 + 4096);
  });
});
