// Portable smoke test of the WebAssembly core under Deno: known vectors and an LZ4 round trip.
import assert from 'node:assert/strict';
import { crc32c, loadCore, lz4FrameCompress, lz4FrameDecompress, xxh3, xxh32, xxh64 } from '../../src/core/index.ts';
import { lz4CompressBlock, lz4DecompressBlock } from '../../src/core/lz4-block.ts';

const enc = (s: string) => new TextEncoder().encode(s);

for (const flavor of ['simd', 'scalar'] as const) {
  Deno.test(`core (${flavor}): xxHash and CRC32C known vectors`, () => {
    const core = loadCore(flavor);
    assert.equal(xxh64(new Uint8Array(0), 0n, core), 0xef46db3751d8e999n);
    assert.equal(xxh64(enc('hello'), 0n, core), 0x26c7827d889f6da3n);
    assert.equal(xxh3(new Uint8Array(0), 0n, core), 0x2d06800538d394c2n);
    assert.equal(xxh3(enc('hello'), 0n, core), 0x9555e8555c62dcfdn);
    assert.equal(xxh32(new Uint8Array(0), 0, core), 0x02cc5d05);
    assert.equal(crc32c(enc('123456789'), 0, core), 0xe3069283);
  });

  Deno.test(`core (${flavor}): LZ4 block and frame round trips`, () => {
    const core = loadCore(flavor);
    const data = enc('vfio migration state '.repeat(5000));
    const block = lz4CompressBlock(data, undefined, core);
    assert.ok(block.length < data.length / 10);
    assert.deepEqual(lz4DecompressBlock(block, data.length, undefined, core), data);
    assert.deepEqual(lz4FrameDecompress(lz4FrameCompress(data, undefined, core), {}, core), data);
  });
}
