// `vfio-migrate inspect`: what a saved stream holds (header, sections, sizes, ratio) and whether it verifies.
import { createReadStream } from 'node:fs';
import process from 'node:process';
import { StreamFormatError, TransportIoError, UsageError } from '../errors.ts';
import { flagNames } from '../fsm/index.ts';
import { type InspectReport, inspectStream } from '../stream/index.ts';
import { defineCommand, toJson } from './command.ts';
import { inspectedSections } from './result-json.ts';

const usage = `usage: vfio-migrate inspect FILE [--json] [--verify full|structure]

Reads a migration stream (FILE, or - for stdin) and prints its header (format version, stream id, codec,
chunking, device, migration flags), its sections with their sizes, the totals (raw and stream bytes, ratio,
chunks, zero and stored chunks) and the verification result. --verify full (the default) decodes every chunk
and checks every checksum; --verify structure checks the records, their order and the trailer only. Exits 1
with the error code (and the stream offset) when the stream is damaged, truncated or not a stream.`;

function size(n: number | null): string {
  if (n === null) return 'unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]} (${n})`;
}

const LABEL = 14;
const WIDTH = 100;

/** `modelledOn` -> `modelled on`. */
const words = (key: string) => key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);

function fieldValue(v: unknown): string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    return v.every((x) => typeof x !== 'object') ? v.join(',') : `${v.length} entries`;
  }
  const inner = Object.entries(v)
    .map(([k, x]) => [k, fieldValue(x)] as const)
    .filter(([, x]) => x !== undefined);
  return inner.length === 0 ? undefined : inner.map(([k, x]) => `${words(k)} ${x}`).join(' ');
}

/**
 * The device the stream was saved from: its id on the label's line, then its other facts as `name value` pairs,
 * wrapped under it (the whole record is in --json).
 */
function renderDevice(device: Record<string, unknown>): string[] {
  const { id, ...rest } = device;
  if (Object.keys(device).length === 0) return [`${'device'.padEnd(LABEL)}(none recorded)`];
  const facts = Object.entries(rest)
    .map(([k, v]) => [k, fieldValue(v)] as const)
    .filter((f): f is readonly [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${words(k)} ${v}`);
  const lines = [`${'device'.padEnd(LABEL)}${fieldValue(id) ?? '(no id)'}`];
  let line = '';
  for (const fact of facts) {
    if (line && LABEL + line.length + 2 + fact.length > WIDTH) {
      lines.push(`${' '.repeat(LABEL)}${line}`);
      line = '';
    }
    line = line ? `${line}, ${fact}` : fact;
  }
  if (line) lines.push(`${' '.repeat(LABEL)}${line}`);
  return lines;
}

/** The report in the vocabulary every command's --json shares (see result-json.ts). */
function reportJson(file: string, r: InspectReport) {
  return {
    ok: r.ok,
    command: 'inspect',
    file,
    verification: r.verification,
    header: r.header,
    bytes: r.rawBytes,
    wireBytes: r.streamBytes,
    ratio: r.ratio,
    chunks: r.chunks,
    zeroChunks: r.zeroChunks,
    storedChunks: r.storedChunks,
    sections: inspectedSections(r.sections),
    streamDigest: r.digest,
    warnings: r.warnings,
    error: r.error,
  };
}

function render(file: string, r: InspectReport): string {
  const lines: string[] = [`stream        ${file}`];
  const h = r.header;
  if (h) {
    const c = h.chunking;
    let flags: string;
    try {
      flags = h.migrationFlags === 0 ? 'none' : flagNames(h.migrationFlags).join(',');
    } catch {
      flags = `0x${h.migrationFlags.toString(16)}`;
    }
    lines.push(
      `format        ${h.version}  (stream id ${h.streamId}, written ${h.createdAt})`,
      `codec         ${h.codec}${h.codec === 'none' ? '' : ` level ${h.level}`}`,
      `chunking      ${c.mode === 'fixed' ? `fixed ${size(c.size)}` : `cdc min ${c.min} avg ${c.size} max ${c.max}`}`,
      ...renderDevice(h.device),
      `flags         ${flags}`,
      `expected      ${size(h.expectedBytes)}`,
    );
  }
  if (r.sections.length > 0) {
    lines.push('sections');
    for (const s of r.sections) {
      const ratio = s.rawBytes > 0 ? (s.encodedBytes / s.rawBytes).toFixed(3) : '-';
      lines.push(
        `  #${s.index} ${s.kind.padEnd(9)} raw ${size(s.rawBytes)}, stream ${size(s.encodedBytes)}, ratio ${ratio}, ` +
          `${s.chunks} chunks (${s.zeroChunks} zero)${s.expectedBytes === null ? '' : `, announced ${size(s.expectedBytes)}`}`,
      );
    }
  }
  lines.push(
    `raw bytes     ${size(r.rawBytes)}`,
    `stream bytes  ${size(r.streamBytes)}`,
    `ratio         ${r.ratio.toFixed(3)}`,
    `chunks        ${r.chunks} (${r.zeroChunks} zero, ${r.storedChunks} stored)`,
  );
  if (r.digest) lines.push(`stream digest ${r.digest}  (hash chain over the chunks)`);
  for (const w of r.warnings) lines.push(`WARNING       ${w}`);
  lines.push(
    r.ok
      ? `verification  OK (${r.verification})`
      : `verification  FAILED (${r.verification}): ${r.error?.code}: ${r.error?.message}`,
  );
  return `${lines.join('\n')}\n`;
}

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'show and verify a saved migration stream',
  usage,
  options: {
    json: { type: 'boolean' },
    verify: { type: 'string' },
  },
  optionValues: { verify: ['full', 'structure'] },
  positionals: ['file'],
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError('inspect takes exactly one FILE (or - for stdin)');
    const file = positionals[0]!;
    const verify = values.verify ?? 'full';
    if (verify !== 'full' && verify !== 'structure') {
      throw new UsageError(`--verify ${JSON.stringify(verify)}: expected full or structure`);
    }
    const source =
      file === '-'
        ? (process.stdin as AsyncIterable<Uint8Array>)
        : createReadStream(file, { highWaterMark: 1 << 20, signal: io.signal });
    let report: InspectReport;
    try {
      report = await inspectStream(source, { verify, signal: io.signal });
    } catch (err) {
      // stream problems are in the report; what is left is reading the file itself
      if (err instanceof StreamFormatError || !(err instanceof Error) || !('code' in err)) throw err;
      if (err.name === 'AbortError') throw err;
      throw new TransportIoError(file, err.message, { cause: err });
    } finally {
      if (file !== '-') (source as ReturnType<typeof createReadStream>).destroy();
    }
    if (values.json) io.out(`${toJson(reportJson(file, report))}\n`);
    else if (io.verbosity !== 'quiet') io.out(render(file, report));
    // Loud, and on stderr too, so a script that keeps only stdout (or only --json) still shows it to a person.
    for (const w of report.warnings) io.err(`vfio-migrate inspect: WARNING: ${w}\n`);
    if (!report.ok && report.error) {
      io.err(`vfio-migrate inspect: ${report.error.code}: ${report.error.message}\n`);
      return 1;
    }
    return 0;
  },
});
