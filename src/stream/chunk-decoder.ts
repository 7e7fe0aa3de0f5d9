// Chunk decoding and verification. Declared sizes are checked against the limits before anything is decompressed
// (a frame can never make us allocate or produce more than its descriptor's length, itself bounded); the raw bytes
// are then checked against the descriptor's XXH64 and the frame's own content checksum.
import { loadCore, xxh64 } from '../core/index.ts';
import { StreamCorruptError, StreamLimitError } from '../errors.ts';
import { DESCRIPTOR_FRAME_SIZE } from './chunk-descriptor.ts';
import { DEFAULT_LIMITS } from './format-constants.ts';
import { sameBytes } from './little-endian.ts';
import { decodeLz4Frame } from './lz4-frame.ts';
import type { ChunkFrame, StreamHeader, StreamLimits } from './stream-types.ts';
import { zeroChunkFacts } from './zero-chunks.ts';
import { decodeStoredZstd, readZstdLayout } from './zstd-frame.ts';
import { loadZstd, type ZstdImplementation } from './zstd-runtime.ts';

interface Decoded {
  out: Uint8Array;
  /** A frame-level content checksum still to compare with the XXH64 of `out` (low 32 bits), or null. */
  checksum: number | null;
  checksumAt: number;
  /** XXH64 of `out` when the codec already took it (from its output arena, before `out` was filled). */
  hash?: bigint | undefined;
}

export class ChunkDecoder {
  readonly header: StreamHeader;
  readonly #zstd: ZstdImplementation | undefined;
  readonly #maxChunk: number;

  private constructor(header: StreamHeader, zstd: ZstdImplementation | undefined, limits?: StreamLimits) {
    this.header = header;
    this.#zstd = zstd;
    this.#maxChunk = Math.min(header.maxChunkSize, limits?.maxChunkSize ?? DEFAULT_LIMITS.maxChunkSize);
  }

  /** A decoder for the stream `header` describes (loads the core and, for zstd, the runtime's zstd). */
  static async create(header: StreamHeader, limits?: StreamLimits): Promise<ChunkDecoder> {
    loadCore();
    return new ChunkDecoder(header, header.codec === 'zstd' ? await loadZstd() : undefined, limits);
  }

  /**
   * The verified raw bytes of `chunk`: a new array owning its buffer, or with `into` (at least the chunk's raw size)
   * a view of `into` (a pipeline reuses the buffers it wrote earlier chunks from). Throws StreamLimitError when the descriptor
   * declares more than the limits, StreamCorruptError when anything does not check out; both name the offset.
   */
  decode(chunk: ChunkFrame, into?: Uint8Array): Uint8Array {
    const d = chunk.descriptor;
    const base = chunk.dataOffset;
    const descriptorAt = base - DESCRIPTOR_FRAME_SIZE;
    const n = d.rawLength;
    if (n > this.#maxChunk) {
      throw new StreamLimitError(
        `chunk ${d.seq} declares ${n} raw bytes, more than the limit of ${this.#maxChunk} (decompression bomb?)`,
        descriptorAt,
      );
    }
    if (d.encodedLength > this.header.maxFrameSize) {
      throw new StreamLimitError(
        `chunk ${d.seq} declares a ${d.encodedLength}-byte frame, more than the stream's ${this.header.maxFrameSize}`,
        descriptorAt,
      );
    }
    if (n === 0) throw new StreamCorruptError(`chunk ${d.seq} declares no raw bytes`, descriptorAt);
    if (chunk.data.length !== d.encodedLength) {
      throw new StreamCorruptError(
        `chunk ${d.seq}: data frame of ${chunk.data.length} bytes, descriptor says ${d.encodedLength}`,
        base,
      );
    }
    const zeroHash = d.zero ? zeroChunkFacts(n).xxh64 : undefined;
    if (zeroHash !== undefined && d.rawHash !== zeroHash) {
      throw new StreamCorruptError(`chunk ${d.seq} is marked zero but its checksum is not that of zeros`, descriptorAt);
    }
    if (into && into.length < n) {
      throw new StreamLimitError(
        `chunk ${d.seq}: ${n} raw bytes do not fit the ${into.length}-byte output`,
        descriptorAt,
      );
    }
    const target = into?.subarray(0, n);
    const decoded = this.header.codec === 'lz4' ? this.#decodeLz4(chunk, target) : this.#decodeZstd(chunk, target);
    if (decoded === null) return target ? target.fill(0) : new Uint8Array(n); // verified canonical zero frame
    const { out, checksum, checksumAt } = decoded;
    const hash = decoded.hash ?? xxh64(out);
    if (checksum !== null && checksum !== Number(hash & 0xffffffffn)) {
      throw new StreamCorruptError('zstd data frame: content checksum mismatch', checksumAt);
    }
    if (hash !== d.rawHash) {
      throw new StreamCorruptError(`chunk ${d.seq}: decoded bytes do not match the descriptor's checksum`, base);
    }
    return out;
  }

  /** LZ4: the canonical zero frame is recognised byte for byte (null = zeros); anything else is decoded. */
  #decodeLz4(chunk: ChunkFrame, target: Uint8Array | undefined): Decoded | null {
    const d = chunk.descriptor;
    if (d.zero) {
      const facts = zeroChunkFacts(d.rawLength);
      if (sameBytes(chunk.data, this.header.lz4ContentChecksum ? facts.lz4Frame : facts.lz4FrameNoChecksum))
        return null;
    }
    // the LZ4 reader verifies the frame's own XXH32 content checksum itself
    const { out, xxh64: hash } = decodeLz4Frame(chunk.data, d.rawLength, chunk.dataOffset, target);
    return { out, checksum: null, checksumAt: 0, hash };
  }

  /** zstd: the frame's Content_Checksum (XXH64 low 32 bits) is checked by the caller, from the one hash pass. */
  #decodeZstd(chunk: ChunkFrame, target: Uint8Array | undefined): Decoded | null {
    const d = chunk.descriptor;
    const base = chunk.dataOffset;
    const n = d.rawLength;
    const layout = readZstdLayout(chunk.data, base);
    if (layout.contentSize !== null && layout.contentSize !== n) {
      throw new StreamCorruptError(
        `zstd data frame: content size ${layout.contentSize}, descriptor says ${n}`,
        base + 5,
      );
    }
    const checksumAt = base + layout.blocksEnd;
    if (layout.storedOnly) {
      if (layout.storedBytes !== n) {
        throw new StreamCorruptError(`zstd data frame: blocks hold ${layout.storedBytes} bytes, not ${n}`, base);
      }
      if (layout.zeroOnly && d.zero) {
        const h = zeroChunkFacts(n).xxh64;
        if (layout.checksum !== null && layout.checksum !== Number(h & 0xffffffffn)) {
          throw new StreamCorruptError('zstd data frame: content checksum mismatch', checksumAt);
        }
        return null;
      }
      const out = target ?? new Uint8Array(n);
      decodeStoredZstd(chunk.data, layout, out);
      return { out, checksum: layout.checksum, checksumAt };
    }
    if (!this.#zstd) {
      throw new StreamCorruptError('zstd data frame has compressed blocks in a stream declared uncompressed', base);
    }
    let out: Uint8Array;
    // zstd gets the frame without its Content_Checksum: we compare that checksum ourselves, from the XXH64 we compute
    // anyway, and a frame that fails zstd's own check costs node:zlib native memory it gives back only at a later
    // GC (thousands of rejected chunks pile up hundreds of MiB). The flag is cleared for the call and restored.
    const data = chunk.data;
    const fhd = data[4]!;
    const body = layout.checksum === null ? data : data.subarray(0, layout.blocksEnd);
    if (layout.checksum !== null) data[4] = fhd & ~0x04;
    try {
      out = this.#zstd.decompress(body, n, target);
    } catch (cause) {
      throw new StreamCorruptError(`zstd data frame does not decode to ${n} bytes`, base, { cause });
    } finally {
      data[4] = fhd;
    }
    if (target) {
      out = target; // decompress() wrote exactly n bytes there
    } else if (out.byteOffset !== 0 || out.buffer.byteLength !== out.length) {
      // node:zlib may hand back a view into a shared pool: give the caller an array that owns its buffer
      out = new Uint8Array(out);
    }
    return { out, checksum: layout.checksum, checksumAt };
  }
}
