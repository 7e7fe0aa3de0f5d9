// The shared vocabulary of --json results (README: "JSON output"): the same name means the same thing in every
// command. `bytes` are device (raw) bytes and `wireBytes` stream bytes; `digest` is the device's state digest and
// `streamDigest` the stream's hash chain over its chunks; `sections` entries have one shape everywhere.
import type { SectionResult } from '../pipeline/stream-saver.ts';
import type { InspectSection } from '../stream/inspect-stream.ts';
import type { SectionKind, SectionMarker } from '../stream/stream-types.ts';

/** One section of a stream (a pre-copy round or the stop-copy part) in save, load and inspect output. */
export interface SectionJson {
  /** 0, 1, 2... in stream order. */
  index: number;
  kind: SectionKind;
  /** Offset of the section's first byte in the device data (the raw bytes of the sections before it). */
  rawOffset: number;
  /** Device bytes in the section. */
  bytes: number;
  chunks: number;
}

/** Sections as save reports them (kind, bytes, chunks), placed in the device data. */
export function savedSections(sections: readonly SectionResult[]): SectionJson[] {
  let rawOffset = 0;
  return sections.map((s, index) => {
    const json = { index, kind: s.kind, rawOffset, bytes: s.bytes, chunks: s.chunks };
    rawOffset += s.bytes;
    return json;
  });
}

/** Sections as load reads them (markers with a start), sized by the next one's start or the stream's totals. */
export function loadedSections(markers: readonly SectionMarker[], bytes: number, chunks: number): SectionJson[] {
  return markers.map((m, i) => {
    const next = markers[i + 1];
    return {
      index: m.index,
      kind: m.kind,
      rawOffset: m.rawOffset,
      bytes: (next?.rawOffset ?? bytes) - m.rawOffset,
      chunks: (next?.firstSeq ?? chunks) - m.firstSeq,
    };
  });
}

/** Sections as inspect measures them, with what only inspect knows: stream bytes, zero chunks, the announcement. */
export function inspectedSections(
  sections: readonly InspectSection[],
): (SectionJson & { wireBytes: number; zeroChunks: number; expectedBytes: number | null })[] {
  let rawOffset = 0;
  return sections.map((s) => {
    const json = {
      index: s.index,
      kind: s.kind,
      rawOffset,
      bytes: s.rawBytes,
      chunks: s.chunks,
      wireBytes: s.encodedBytes,
      zeroChunks: s.zeroChunks,
      expectedBytes: s.expectedBytes,
    };
    rawOffset += s.rawBytes;
    return json;
  });
}

/** The stream digest as inspect and FORMAT.md write it: 16 hex digits. */
export function streamDigestHex(digest: bigint): string {
  return digest.toString(16).padStart(16, '0');
}
