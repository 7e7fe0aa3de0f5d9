// `vfio-migrate inspect`: what a saved stream holds (header, sections, sizes, ratio) and whether it verifies.
import { createReadStream } from 'node:fs';
import process from 'node:process';
import { StreamFormatError, TransportIoError, UsageError } from '../errors.ts';
import { flagNames } from '../fsm/index.ts';
import { type InspectReport, inspectStream } from '../stream/index.ts';
import { type Command, parseCommandArgs, toJson } from './command.ts';

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
      `device        ${Object.keys(h.device).length > 0 ? JSON.stringify(h.device) : '(none recorded)'}`,
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
  if (r.digest) lines.push(`digest        ${r.digest}`);
  for (const w of r.warnings) lines.push(`WARNING       ${w}`);
  lines.push(
    r.ok
      ? `verification  OK (${r.verification})`
      : `verification  FAILED (${r.verification}): ${r.error?.code}: ${r.error?.message}`,
  );
  return `${lines.join('\n')}\n`;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show and verify a saved migration stream',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      verify: { type: 'string' },
    });
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
    if (values.json) io.out(`${toJson({ file, ...report })}\n`);
    else io.out(render(file, report));
    // Loud, and on stderr too, so a script that keeps only stdout (or only --json) still shows it to a person.
    for (const w of report.warnings) io.err(`vfio-migrate inspect: WARNING: ${w}\n`);
    if (!report.ok && report.error) {
      io.err(`vfio-migrate inspect: ${report.error.code}: ${report.error.message}\n`);
      return 1;
    }
    return 0;
  },
};
