// Zero chunks are common (untouched device memory) and identical for a given length: their hashes and encoded
// frames are computed once per length and reused, so a zero chunk costs a scan and a table lookup.
import { xxh32, xxh64 } from '../core/index.ts';
import { storedZstdFrameSize } from './frame-bounds.ts';
import { zeroLz4Frame } from './lz4-frame.ts';
import { writeStoredZstdFrame } from './zstd-frame.ts';

export interface ZeroChunkFacts {
  xxh64: bigint;
  xxh32: number;
  zstdFrame: Uint8Array;
  lz4Frame: Uint8Array;
  lz4FrameNoChecksum: Uint8Array;
}

const CACHE_LIMIT = 32;
const cache = new Map<number, ZeroChunkFacts>();

/** Hashes and canonical frames of `n` zero bytes. */
export function zeroChunkFacts(n: number): ZeroChunkFacts {
  let facts = cache.get(n);
  if (facts) return facts;
  const zeros = new Uint8Array(n);
  const h64 = xxh64(zeros);
  const h32 = xxh32(zeros);
  const zstdScratch = new Uint8Array(storedZstdFrameSize(n));
  const zstdEnd = writeStoredZstdFrame(zeros, true, h64, zstdScratch, 0);
  facts = {
    xxh64: h64,
    xxh32: h32,
    zstdFrame: zstdScratch.slice(0, zstdEnd),
    lz4Frame: zeroLz4Frame(n, h32, true),
    lz4FrameNoChecksum: zeroLz4Frame(n, h32, false),
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(n, facts);
  return facts;
}
