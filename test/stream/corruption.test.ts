// Every kind of damage a stream can suffer is detected with a typed error naming the offset, and no byte of a bad
// chunk is ever handed out: what decodeStream yields before the error is always a prefix of the true data.
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/core/index.ts';
import {
  ForeignStreamError,
  StreamCorruptError,
  StreamDuplicateError,
  StreamFormatError,
  StreamLimitError,
  StreamOrderError,
  StreamTrailerMismatchError,
  StreamTrailingDataError,
  StreamTruncatedError,
  StreamVersionError,
} from '../../src/errors.ts';
import { encodeDescriptor } from '../../src/stream/chunk-descriptor.ts';
import { type Codec, decodeStream } from '../../src/stream/index.ts';
import { CODECS, concat, deviceBytes, type FramedStream, framedStream } from './stream-fixtures.ts';

interface Outcome {
  error: unknown;
  yielded: Uint8Array;
}

async function consume(stream: Uint8Array, pieceSize = 50_000): Promise<Outcome> {
  const pieces: Uint8Array[] = [];
  for (let o = 0; o < stream.length; o += pieceSize) pieces.push(stream.subarray(o, o + pieceSize));
  const out: Uint8Array[] = [];
  try {
    for await (const ev of decodeStream(pieces)) if (ev.data) out.push(ev.data);
  } catch (error) {
    return { error, yielded: concat(out) };
  }
  return { error: undefined, yielded: concat(out) };
}

/** The damage was reported as a stream error with an offset, and only true bytes came out before it. */
function expectDetected(o: Outcome, data: Uint8Array, type: abstract new (...args: never[]) => StreamFormatError) {
  expect(o.error).toBeInstanceOf(type);
  const err = o.error as StreamFormatError;
  expect(err.code).toMatch(/^VFM_STREAM_/);
  expect(Number.isInteger(err.offset) && err.offset >= 0).toBe(true);
  // (Buffer.compare: deep equality on large arrays is far too slow for hundreds of cases)
  expect(Buffer.compare(o.yielded, data.subarray(0, o.yielded.length))).toBe(0);
}

const DATA = deviceBytes(6 * 65536 + 1234, 11);
const streams = new Map<Codec, FramedStream>();
async function framed(codec: Codec): Promise<FramedStream> {
  let s = streams.get(codec);
  if (!s) {
    s = await framedStream(codec, DATA);
    streams.set(codec, s);
  }
  return s;
}

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe.each(CODECS)('%s stream', (codec) => {
  it('decodes intact (control)', async () => {
    const s = await framed(codec);
    const o = await consume(s.bytes);
    expect(o.error).toBeUndefined();
    expect(Buffer.compare(o.yielded, DATA)).toBe(0);
  });

  it('single bit flips at random offsets (fixed seed) are all detected', async () => {
    const s = await framed(codec);
    const rnd = seeded(codec.length * 7919);
    // every metadata frame gets flips too, not just the bulk of the data
    const offsets = Array.from({ length: 120 }, () => Math.floor(rnd() * s.bytes.length));
    for (const f of s.frames) offsets.push(f.offset, f.offset + 5, f.offset + f.length - 1, f.offset + 60);
    for (const at of offsets) {
      const bad = s.bytes.slice();
      bad[at]! ^= 1 << Math.floor(rnd() * 8);
      const o = await consume(bad);
      try {
        expectDetected(o, DATA, StreamFormatError);
      } catch (e) {
        throw new Error(`bit flip at ${at} not detected: ${String(o.error)}`, { cause: e });
      }
    }
  });

  it('truncation at every frame boundary is detected', async () => {
    const s = await framed(codec);
    for (const f of s.frames) {
      expectDetected(await consume(s.bytes.subarray(0, f.offset)), DATA, StreamTruncatedError);
    }
  });

  it('truncation inside every frame is detected', async () => {
    const s = await framed(codec);
    for (const f of s.frames) {
      for (const cut of [1, 4, 8, Math.floor(f.length / 2), f.length - 1]) {
        if (cut >= f.length) continue;
        const o = await consume(s.bytes.subarray(0, f.offset + cut));
        expectDetected(o, DATA, StreamTruncatedError);
      }
    }
  });

  it('swapped chunk frames are detected as out of order', async () => {
    const s = await framed(codec);
    const chunks = s.frames.filter((f) => f.kind === 'chunk');
    const [a, b] = [chunks[1]!, chunks[2]!];
    const bytes = s.bytes;
    const swapped = concat([
      bytes.subarray(0, a.offset),
      bytes.subarray(b.offset, b.offset + b.length),
      bytes.subarray(a.offset, a.offset + a.length),
      bytes.subarray(b.offset + b.length),
    ]);
    const o = await consume(swapped);
    expectDetected(o, DATA, StreamOrderError);
    expect((o.error as StreamFormatError).offset).toBe(a.offset);
  });

  it('a duplicated chunk frame is detected', async () => {
    const s = await framed(codec);
    const c = s.frames.filter((f) => f.kind === 'chunk')[3]!;
    const dup = concat([
      s.bytes.subarray(0, c.offset + c.length),
      s.bytes.subarray(c.offset, c.offset + c.length),
      s.bytes.subarray(c.offset + c.length),
    ]);
    const o = await consume(dup);
    expectDetected(o, DATA, StreamDuplicateError);
    expect((o.error as StreamFormatError).offset).toBe(c.offset + c.length);
  });

  it('a dropped chunk frame is detected', async () => {
    const s = await framed(codec);
    const c = s.frames.filter((f) => f.kind === 'chunk')[2]!;
    const o = await consume(concat([s.bytes.subarray(0, c.offset), s.bytes.subarray(c.offset + c.length)]));
    expectDetected(o, DATA, StreamOrderError);
  });

  it('a trailer from another stream is detected', async () => {
    const s = await framed(codec);
    const other = await framedStream(codec, DATA); // same data, another stream id
    const t = s.frames.at(-1)!;
    const o = await consume(concat([s.bytes.subarray(0, t.offset), other.bytes.subarray(t.offset)]));
    expectDetected(o, DATA, StreamTrailerMismatchError);
    expect((o.error as Error).message).toMatch(/another stream|belongs to stream/);
  });

  it('a chunk spliced in from another stream is detected', async () => {
    const s = await framed(codec);
    const other = await framedStream(codec, DATA);
    const c = s.frames.filter((f) => f.kind === 'chunk')[1]!;
    const spliced = concat([
      s.bytes.subarray(0, c.offset),
      other.bytes.subarray(c.offset, c.offset + c.length),
      s.bytes.subarray(c.offset + c.length),
    ]);
    expectDetected(await consume(spliced), DATA, StreamCorruptError);
  });

  it('bytes after the trailer are detected', async () => {
    const s = await framed(codec);
    expectDetected(await consume(concat([s.bytes, new Uint8Array([1, 2, 3])])), DATA, StreamTrailingDataError);
  });
});

describe('header-level attacks', () => {
  it('a future major version is refused before any data, as such (not as damage)', async () => {
    const s = await framedStream('zstd', DATA);
    const bad = s.bytes.slice();
    const hdr = s.frames[0]!;
    const payload = bad.subarray(hdr.offset + 8, hdr.offset + hdr.length);
    new DataView(payload.buffer, payload.byteOffset).setUint16(4, 2, true);
    new DataView(payload.buffer, payload.byteOffset).setUint32(
      payload.length - 4,
      crc32c(payload.subarray(0, -4)),
      true,
    );
    const o = await consume(bad);
    expectDetected(o, DATA, StreamVersionError);
    expect(o.yielded.length).toBe(0);
    expect((o.error as StreamVersionError).major).toBe(2);
  });

  it('a chunk declaring a raw size beyond the header limit is refused before decoding (bomb)', async () => {
    const s = await framedStream('zstd', DATA, new Uint8Array(16).fill(4));
    const c = s.frames.filter((f) => f.kind === 'chunk')[0]!;
    const forged = encodeDescriptor(new Uint8Array(16).fill(4), {
      seq: 0,
      rawOffset: 0,
      rawLength: 1 << 30,
      encodedLength: 100,
      rawHash: 0n,
      zero: false,
      stored: false,
    });
    const bad = concat([
      s.bytes.subarray(0, c.offset),
      forged,
      new Uint8Array(100),
      s.bytes.subarray(c.offset + c.length),
    ]);
    const o = await consume(bad);
    expectDetected(o, DATA, StreamLimitError);
    expect((o.error as StreamFormatError).offset).toBe(c.offset);
  });

  it('a zstd frame claiming more content than its descriptor is refused before decompressing', async () => {
    const s = await framedStream('zstd', DATA);
    const c = s.frames.filter((f) => f.kind === 'chunk')[0]!;
    const bad = s.bytes.slice();
    // Frame_Content_Size of the data frame (our frames: magic, FHD, then 4 bytes of size)
    new DataView(bad.buffer).setUint32(c.offset + 52 + 5, 1 << 30, true);
    expectDetected(await consume(bad), DATA, StreamCorruptError);
  });

  it('a stream of stock zstd frames (no header) is foreign', async () => {
    const zstdMagic = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0, 0]);
    expectDetected(await consume(zstdMagic), new Uint8Array(0), ForeignStreamError);
    expectDetected(
      await consume(new TextEncoder().encode('hello world, not a stream')),
      new Uint8Array(0),
      ForeignStreamError,
    );
  });

  it('an empty input is a truncated stream', async () => {
    expectDetected(await consume(new Uint8Array(0)), new Uint8Array(0), StreamTruncatedError);
  });
});
