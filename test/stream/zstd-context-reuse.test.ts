// node:zlib's zstd runs through one context per thread, reused chunk after chunk and writing into the caller's
// buffer. Reuse must not carry anything from one frame into the next: frames stay independent (each decodes alone,
// by the stock tool too), a damaged frame costs only itself, and a frame that would not fit is stored instead.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ChunkDecoder, ChunkEncoder, createStreamHeader, fixedChunking } from '../../src/stream/index.ts';
import { readZstdLayout } from '../../src/stream/zstd-frame.ts';
import { loadZstd } from '../../src/stream/zstd-runtime.ts';
import { randomBytes } from '../core/helpers.ts';
import { deviceBytes } from './stream-fixtures.ts';

const KiB = 1024;
const DESCRIPTOR = 52;

/** Chunks of different kinds, so consecutive frames differ in what the context holds. */
function chunks(): Uint8Array[] {
  return [
    deviceBytes(256 * KiB, 1),
    deviceBytes(256 * KiB, 2).fill(7, 0, 200 * KiB),
    deviceBytes(97 * KiB, 3),
    randomBytes(256 * KiB, 3), // incompressible: stored
    deviceBytes(256 * KiB, 4),
  ];
}

describe('zstd with a reused context', () => {
  it('runs on node:zlib here', async () => {
    expect((await loadZstd()).backend).toBe('node:zlib');
  });

  it('each frame is independent: it decodes alone, in any order, and the stock zstd tool reads it', async () => {
    const header = createStreamHeader({ codec: 'zstd', level: 3, chunking: fixedChunking(256 * KiB) });
    const enc = await ChunkEncoder.create(header);
    const raw = chunks();
    const encoded = raw.map((r, i) => enc.encode(i, i * 256 * KiB, r));
    expect(encoded.map((c) => c.descriptor.stored)).toEqual([false, false, false, true, false]);
    // a fresh decoder per frame, and one decoder walking them backwards
    const backwards = await ChunkDecoder.create(header);
    for (let i = encoded.length - 1; i >= 0; i--) {
      const c = encoded[i]!;
      const frame = { descriptor: c.descriptor, data: c.bytes.subarray(DESCRIPTOR), dataOffset: DESCRIPTOR };
      expect(Buffer.compare(backwards.decode(frame), raw[i]!)).toBe(0);
      const alone = await ChunkDecoder.create(header);
      expect(Buffer.compare(alone.decode(frame), raw[i]!)).toBe(0);
      const tool = spawnSync('zstd', ['-d', '-q', '-c'], { input: c.bytes.subarray(DESCRIPTOR) });
      expect(tool.status).toBe(0);
      expect(Buffer.compare(tool.stdout, raw[i]!)).toBe(0);
    }
  });

  it('a frame built in the caller buffer carries its content size and checksum', async () => {
    const header = createStreamHeader({ codec: 'zstd', level: 1, chunking: fixedChunking(256 * KiB) });
    const enc = await ChunkEncoder.create(header);
    const into = new Uint8Array(300 * KiB).fill(0xee);
    const raw = deviceBytes(256 * KiB, 8);
    const chunk = enc.encode(0, 0, raw, into);
    expect(chunk.bytes.buffer).toBe(into.buffer);
    const layout = readZstdLayout(chunk.bytes.subarray(DESCRIPTOR), 0);
    expect(layout.contentSize).toBe(raw.length);
    expect(layout.checksum).toBe(Number(chunk.descriptor.rawHash & 0xffffffffn));
  });

  it('after a damaged frame is refused, the next intact frames still decode (the failed context is replaced)', async () => {
    const header = createStreamHeader({ codec: 'zstd', chunking: fixedChunking(256 * KiB) });
    const enc = await ChunkEncoder.create(header);
    const dec = await ChunkDecoder.create(header);
    const raw = chunks();
    const encoded = raw
      .map((r, i) => enc.encode(i, i * 256 * KiB, r))
      .map((c) => ({ c, bytes: c.bytes.slice(DESCRIPTOR) }));
    for (const [i, { c, bytes }] of encoded.entries()) {
      if (c.descriptor.stored) continue;
      const damaged = bytes.slice();
      // inside the first compressed block, past the frame and block headers
      damaged[20]! ^= 0xa5;
      expect(() => dec.decode({ descriptor: c.descriptor, data: damaged, dataOffset: DESCRIPTOR })).toThrow(
        expect.objectContaining({ code: 'VFM_STREAM_CORRUPT' }),
      );
      const intact = dec.decode({ descriptor: c.descriptor, data: bytes, dataOffset: DESCRIPTOR });
      expect(Buffer.compare(intact, raw[i]!)).toBe(0);
    }
  });

  it('a frame whose content runs past its descriptor size is refused, into a caller buffer too', async () => {
    const zstd = await loadZstd();
    const raw = deviceBytes(64 * KiB, 5);
    const frame = zstd.compress(raw, 3);
    expect(frame).not.toBeNull();
    // no content size in the way: the decoder alone has to find the extra bytes
    expect(() => zstd.decompress(frame!, raw.length - 1, new Uint8Array(raw.length - 1))).toThrow(/more than/);
    expect(() => zstd.decompress(frame!, raw.length + 1, new Uint8Array(raw.length + 1))).toThrow(RangeError);
    const back = zstd.decompress(frame!, raw.length, new Uint8Array(raw.length));
    expect(Buffer.compare(back, raw)).toBe(0);
  });

  it('a frame longer than the room given is reported as such, and zstd stops there', async () => {
    const zstd = await loadZstd();
    expect(zstd.compress(randomBytes(64 * KiB, 4), 3, new Uint8Array(64 * KiB))).toBeNull();
    const fits = zstd.compress(new Uint8Array(64 * KiB), 3, new Uint8Array(64 * KiB));
    expect(fits?.length).toBeLessThan(100);
  });
});
