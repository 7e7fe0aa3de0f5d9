// Worst-case data frame sizes: what a writer can produce for a chunk of n bytes, and so the most a reader buffers.
import { ZSTD_BLOCK_MAX } from './format-constants.ts';
import type { Codec } from './stream-types.ts';

/** LZ4 frame blocks are at most 4 MiB. */
export const LZ4_FRAME_BLOCK_MAX = 4 << 20;

/** A zstd frame of stored (raw) blocks: header (magic, descriptor, 4-byte content size), blocks, checksum. */
export function storedZstdFrameSize(n: number): number {
  return 9 + 3 * Math.max(1, Math.ceil(n / ZSTD_BLOCK_MAX)) + n + 4;
}

/** An LZ4 frame of stored blocks: header with content size, blocks, end mark, content checksum. */
export function storedLz4FrameSize(n: number, contentChecksum: boolean): number {
  return 15 + 4 * Math.ceil(n / LZ4_FRAME_BLOCK_MAX) + n + 4 + (contentChecksum ? 4 : 0);
}

/** The largest data frame a writer emits for a chunk of n raw bytes (it never sends a frame larger than stored). */
export function dataFrameBound(codec: Codec, n: number): number {
  return codec === 'lz4' ? storedLz4FrameSize(n, true) : storedZstdFrameSize(n);
}
