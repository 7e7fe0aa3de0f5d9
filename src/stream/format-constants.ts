// Numbers fixed by the format (FORMAT.md). Changing any of them is a new major version.
import type { ChunkingMode, Codec, FormatVersion, SectionKind } from './stream-types.ts';

export const FORMAT_VERSION: Readonly<FormatVersion> = Object.freeze({ major: 1, minor: 1 });

/** Skippable frame magic used by every metadata record (zstd and lz4 readers skip 0x184D2A50..5F). */
export const RECORD_MAGIC = 0x184d2a56;
export const SKIPPABLE_MAGIC_MIN = 0x184d2a50;
export const SKIPPABLE_MAGIC_MAX = 0x184d2a5f;
export const ZSTD_MAGIC = 0xfd2fb528;
export const LZ4_MAGIC = 0x184d2204;

/** Record tags: the first four payload bytes, ASCII. */
export const TAG_HEADER = 0x484d4656; // 'VFMH' read as u32 LE
export const TAG_SECTION = 0x534d4656; // 'VFMS'
export const TAG_CHUNK = 0x434d4656; // 'VFMC'
export const TAG_TRAILER = 0x544d4656; // 'VFMT'
/** The receipt a receiver sends back over a two-way transport (never part of a stream). */
export const TAG_RECEIPT = 0x524d4656; // 'VFMR'

/** Skippable frame envelope: magic u32 + size u32. */
export const ENVELOPE_SIZE = 8;
export const HEADER_FIXED_SIZE = 72;
export const SECTION_PAYLOAD_SIZE = 40;
export const CHUNK_PAYLOAD_SIZE = 44;
export const TRAILER_PAYLOAD_SIZE = 76;
/** A section, chunk descriptor or trailer payload longer than this is refused (newer minors may append fields). */
export const MAX_RECORD_PAYLOAD = 4096;
/** Section record flags (byte 5, reserved in 1.0): bit 0, the announced size is exact (not an estimate). */
export const SECTION_FLAG_EXACT = 1;

export const CODEC_IDS: Readonly<Record<Codec, number>> = { none: 0, lz4: 1, zstd: 2 };
export const CODEC_BY_ID: readonly Codec[] = ['none', 'lz4', 'zstd'];
export const CHUNKING_IDS: Readonly<Record<ChunkingMode, number>> = { fixed: 0, cdc: 1 };
export const CHUNKING_BY_ID: readonly ChunkingMode[] = ['fixed', 'cdc'];
export const SECTION_IDS: Readonly<Record<SectionKind, number>> = { 'pre-copy': 1, 'stop-copy': 2 };
export const SECTION_BY_ID: Readonly<Record<number, SectionKind>> = { 1: 'pre-copy', 2: 'stop-copy' };

export const HEADER_FLAG_LZ4_CONTENT_CHECKSUM = 1;
export const CHUNK_FLAG_ZERO = 1;
export const CHUNK_FLAG_STORED = 2;

export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** The largest chunk a writer may declare (a reader's default limit too). */
export const MAX_CHUNK_SIZE = 64 << 20;
export const MIN_CHUNK_SIZE = 4 << 10;
export const DEFAULT_ZSTD_LEVEL = 3;

export const DEFAULT_LIMITS = Object.freeze({ maxChunkSize: MAX_CHUNK_SIZE, maxMetadataBytes: 64 << 10 });

/** u64 "unknown" marker for optional sizes. */
export const UNKNOWN_U64 = 0xffffffffffffffffn;

/** zstd blocks hold at most 128 KiB. */
export const ZSTD_BLOCK_MAX = 128 << 10;
