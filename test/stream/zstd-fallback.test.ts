// The portable zstd fallback (zstd-codec, emscripten) produces streams identical in meaning to node:zlib's: frames
// completed with content size and checksum, readable by either backend and by the stock tool.
import { describe, expect, it } from 'vitest';
import { ChunkDecoder, ChunkEncoder, createStreamHeader } from '../../src/stream/index.ts';
import { readZstdLayout } from '../../src/stream/zstd-frame.ts';
import { deviceBytes, FIXED_64K } from './stream-fixtures.ts';

describe('zstd through zstd-codec', () => {
  it('encodes complete frames that decode back', async () => {
    process.env.VFIO_MIGRATE_ZSTD = 'zstd-codec';
    const header = createStreamHeader({ codec: 'zstd', chunking: FIXED_64K });
    const enc = await ChunkEncoder.create(header);
    expect(enc.zstdBackend).toBe('zstd-codec');
    const raw = deviceBytes(65536, 9).subarray(0, 20_000);
    const chunk = enc.encode(0, 0, raw);
    expect(chunk.descriptor.stored).toBe(false);
    const frame = chunk.bytes.subarray(52);
    const layout = readZstdLayout(frame, 0);
    expect(layout.contentSize).toBe(raw.length);
    expect(layout.checksum).toBe(Number(chunk.descriptor.rawHash & 0xffffffffn));
    const dec = await ChunkDecoder.create(header);
    expect(Buffer.compare(dec.decode({ descriptor: chunk.descriptor, data: frame, dataOffset: 52 }), raw)).toBe(0);
  });
});
