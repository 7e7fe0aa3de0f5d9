// Chunk encoding: one descriptor frame + one standard data frame per chunk. Synchronous and self-contained, one
// instance per worker thread. A chunk is copied into the core's arena once; zero detection, XXH64 (and XXH32 for
// LZ4 frames) and LZ4 compression all run from there.
import { isZeroChunk, isZeroInArena, loadCore, xxh32, xxh32And64At, xxh64, xxh64InArena } from '../core/index.ts';
import { StreamWriterStateError, UsageError } from '../errors.ts';
import { DESCRIPTOR_FRAME_SIZE, encodeDescriptor } from './chunk-descriptor.ts';
import { LZ4_FRAME_BLOCK_MAX, storedZstdFrameSize } from './frame-bounds.ts';
import { writeLz4Frame } from './lz4-frame.ts';
import type { ChunkDescriptor, EncodedChunk, StreamHeader } from './stream-types.ts';
import { zeroChunkFacts } from './zero-chunks.ts';
import { completeZstdFrame, readZstdLayout, writeStoredZstdFrame } from './zstd-frame.ts';
import { loadZstd, type ZstdImplementation } from './zstd-runtime.ts';

/** The bytes one encoded chunk (descriptor frame and largest data frame) can take in a stream with `header`. */
export function encodedChunkCapacity(header: StreamHeader): number {
  return DESCRIPTOR_FRAME_SIZE + header.maxFrameSize;
}

export class ChunkEncoder {
  readonly header: StreamHeader;
  readonly #zstd: ZstdImplementation | undefined;
  /** Descriptor + the largest data frame: every chunk is built here, then copied out once at its exact size. */
  readonly #scratch: Uint8Array;

  private constructor(header: StreamHeader, zstd: ZstdImplementation | undefined) {
    this.header = header;
    this.#zstd = zstd;
    this.#scratch = new Uint8Array(encodedChunkCapacity(header));
  }

  /** An encoder for the stream `header` describes (loads the core and, for zstd, the runtime's zstd). */
  static async create(header: StreamHeader): Promise<ChunkEncoder> {
    loadCore();
    return new ChunkEncoder(header, header.codec === 'zstd' ? await loadZstd() : undefined);
  }

  /** Which zstd implementation compresses (undefined for lz4 and none). */
  get zstdBackend(): string | undefined {
    return this.#zstd?.backend;
  }

  /**
   * Encodes chunk `seq` holding the raw bytes at `rawOffset`. Returns the descriptor frame and data frame in one
   * array, and the descriptor (for StreamWriter.addChunk). With `into` (at least `encodedChunkCapacity(header)` bytes, a buffer
   * an earlier chunk was written from) the frames are built there and the result is a view of it; without it, a new
   * array that owns its buffer (transferable). Reusing buffers matters: a fresh megabyte per chunk costs more in page
   * faults and collection than the chunk's checksum.
   */
  encode(seq: number, rawOffset: number, data: Uint8Array, into?: Uint8Array): EncodedChunk {
    const h = this.header;
    const n = data.length;
    if (n < 1 || n > h.maxChunkSize) {
      throw new UsageError(`a chunk holds 1 to ${h.maxChunkSize} bytes (this stream's maximum), not ${n}`);
    }
    if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(rawOffset) || rawOffset < 0) {
      throw new StreamWriterStateError(`bad chunk position: seq ${seq}, offset ${rawOffset}`);
    }
    const wantXxh32 = h.codec === 'lz4' && h.lz4ContentChecksum;
    const core = loadCore();
    const inArena = n <= core.inSize;
    let zero: boolean;
    let h64: bigint;
    let h32 = 0;
    const sampledZero = data[0] === 0 && data[n - 1] === 0 && data[n >>> 1] === 0;
    if (inArena) {
      core.input().set(data);
      zero = sampledZero && isZeroInArena(n);
      if (zero) {
        const facts = zeroChunkFacts(n);
        h64 = facts.xxh64;
        h32 = facts.xxh32;
      } else if (wantXxh32) {
        ({ xxh64: h64, xxh32: h32 } = xxh32And64At(core.inPtr, n, core));
      } else {
        h64 = xxh64InArena(n);
      }
    } else {
      zero = sampledZero && isZeroChunk(data);
      const facts = zero ? zeroChunkFacts(n) : undefined;
      h64 = facts?.xxh64 ?? xxh64(data);
      h32 = facts?.xxh32 ?? (wantXxh32 ? xxh32(data) : 0);
    }

    if (into && into.length < this.#scratch.length) {
      throw new UsageError(`an output buffer of ${into.length} bytes is below this stream's ${this.#scratch.length}`);
    }
    const out = into ?? this.#scratch;
    const at = DESCRIPTOR_FRAME_SIZE;
    let end: number;
    let stored = false;
    if (zero) {
      const facts = zeroChunkFacts(n);
      const frame =
        h.codec === 'lz4' ? (h.lz4ContentChecksum ? facts.lz4Frame : facts.lz4FrameNoChecksum) : facts.zstdFrame;
      out.set(frame, at);
      end = at + frame.length;
    } else if (h.codec === 'lz4') {
      // the arena still holds the chunk (hashing does not touch IN) when it is one LZ4 block
      const r = writeLz4Frame(
        {
          data,
          length: n,
          zero: false,
          xxh32: h32,
          contentChecksum: h.lz4ContentChecksum,
          inArena: inArena && n <= LZ4_FRAME_BLOCK_MAX,
        },
        out,
        at,
      );
      end = r.end;
      stored = r.stored;
    } else if (h.codec === 'zstd') {
      // Compressed straight into its place when the runtime can (completing it then leaves it there), with room for
      // a frame shorter than the stored one only: zstd stops early on data that does not compress.
      const storedSize = storedZstdFrameSize(n);
      const compressed = this.#zstd!.compress(data, h.level, out.subarray(at, at + storedSize - 1));
      const frame = compressed && completeZstdFrame(compressed, n, h64);
      if (frame && frame.length < storedSize) {
        if (frame.buffer !== out.buffer || frame.byteOffset !== out.byteOffset + at) out.set(frame, at);
        end = at + frame.length;
        // zstd itself falls back to raw blocks for incompressible input
        stored = readZstdLayout(frame, 0).storedOnly;
      } else {
        end = writeStoredZstdFrame(data, false, h64, out, at);
        stored = true;
      }
    } else {
      end = writeStoredZstdFrame(data, false, h64, out, at);
      stored = true;
    }

    const descriptor: ChunkDescriptor = {
      seq,
      rawOffset,
      rawLength: n,
      encodedLength: end - at,
      rawHash: h64,
      zero,
      stored,
    };
    out.set(encodeDescriptor(h.streamId, descriptor), 0);
    return { bytes: into ? into.subarray(0, end) : out.slice(0, end), descriptor };
  }
}
