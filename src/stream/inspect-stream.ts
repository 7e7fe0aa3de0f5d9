// What `vfio-migrate inspect` reports: header fields, sections with their sizes, totals, and the verification
// result. A bad stream still yields a report (what was read before the problem, and the error with its offset).
import { AbortedError, StreamFormatError } from '../errors.ts';
import { ChunkDecoder } from './chunk-decoder.ts';
import { hex } from './little-endian.ts';
import { StreamParser } from './stream-parser.ts';
import type { Chunking, Codec, SectionKind, StreamLimits } from './stream-types.ts';

export interface InspectOptions {
  /** full (default): decode every chunk and check every checksum; structure: records, order and trailer only. */
  verify?: 'full' | 'structure' | undefined;
  limits?: StreamLimits | undefined;
  signal?: AbortSignal | undefined;
}

export interface InspectSection {
  index: number;
  kind: SectionKind;
  expectedBytes: number | null;
  /** The device vouched for `expectedBytes` as exact (format 1.1). */
  exact: boolean;
  rawBytes: number;
  encodedBytes: number;
  chunks: number;
  zeroChunks: number;
}

export interface InspectReport {
  ok: boolean;
  verification: 'full' | 'structure';
  header?: {
    version: string;
    streamId: string;
    codec: Codec;
    level: number;
    chunking: Chunking;
    migrationFlags: number;
    device: Record<string, unknown>;
    expectedBytes: number | null;
    maxChunkSize: number;
    createdAt: string;
  };
  sections: InspectSection[];
  rawBytes: number;
  /** Stream bytes read (the whole file when complete). */
  streamBytes: number;
  chunks: number;
  zeroChunks: number;
  storedChunks: number;
  /** streamBytes / rawBytes (lower is better), as the pipeline and the stock tools report it. */
  ratio: number;
  /** The stream digest from the verified trailer (hex). */
  digest?: string;
  /** Loud problems that are not errors: sections whose size differs from the exact size their device announced. */
  warnings: string[];
  error?: { code: string; message: string; offset: number };
}

export async function inspectStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts?: InspectOptions,
): Promise<InspectReport> {
  const verification = opts?.verify ?? 'full';
  const report: InspectReport = {
    ok: false,
    verification,
    sections: [],
    rawBytes: 0,
    streamBytes: 0,
    chunks: 0,
    zeroChunks: 0,
    storedChunks: 0,
    ratio: 0,
    warnings: [],
  };
  const parser = new StreamParser(opts);
  let decoder: ChunkDecoder | undefined;
  const drain = async () => {
    for (let f = parser.next(); f; f = parser.next()) {
      report.streamBytes = f.offset + f.length;
      if (f.type === 'header') {
        const h = f.header;
        report.header = {
          version: `${h.version.major}.${h.version.minor}`,
          streamId: hex(h.streamId),
          codec: h.codec,
          level: h.level,
          chunking: h.chunking,
          migrationFlags: h.migrationFlags,
          device: h.device,
          expectedBytes: h.expectedBytes,
          maxChunkSize: h.maxChunkSize,
          createdAt: new Date(h.createdAt).toISOString(),
        };
        if (verification === 'full') decoder = await ChunkDecoder.create(h, opts?.limits);
      } else if (f.type === 'section') {
        const s = f.section;
        report.sections.push({
          index: s.index,
          kind: s.kind,
          expectedBytes: s.expectedBytes,
          exact: s.exact,
          rawBytes: 0,
          encodedBytes: f.length,
          chunks: 0,
          zeroChunks: 0,
        });
      } else if (f.type === 'chunk') {
        const d = f.chunk.descriptor;
        decoder?.decode(f.chunk);
        const s = report.sections.at(-1)!;
        s.rawBytes += d.rawLength;
        s.encodedBytes += f.length;
        s.chunks++;
        if (d.zero) s.zeroChunks++;
        report.rawBytes += d.rawLength;
        report.chunks++;
        if (d.zero) report.zeroChunks++;
        if (d.stored) report.storedChunks++;
      } else {
        report.digest = f.trailer.digest.toString(16).padStart(16, '0');
      }
    }
  };
  try {
    for await (const piece of source) {
      if (opts?.signal?.aborted) throw new AbortedError(undefined, { cause: opts.signal.reason });
      parser.push(piece);
      await drain();
    }
    parser.end();
    report.ok = true;
  } catch (err) {
    if (!(err instanceof StreamFormatError)) throw err;
    report.error = { code: err.code, message: err.message, offset: err.offset };
    delete report.digest;
  }
  report.warnings = [...parser.warnings];
  // Stream bytes per raw byte, as the pipeline and the stock tools report it (lower is better).
  report.ratio = report.rawBytes > 0 ? report.streamBytes / report.rawBytes : 0;
  return report;
}
