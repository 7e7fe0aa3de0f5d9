// Progress of save/load on the command line: a one-line bar redrawn on a TTY, NDJSON events with --json.
import type { ProgressEvent } from '../pipeline/progress-meter.ts';
import type { CliIo } from './command.ts';

export type ProgressMode = 'bar' | 'json' | 'none';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${v} B`;
  let text = v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  // Rounding can reach the next unit (1048575 B is 1023.999 KiB): say 1.00 MiB, not 1024 KiB.
  if (Number(text) >= 1024 && u < UNITS.length - 1) {
    u++;
    text = (v / 1024).toFixed(2);
  }
  return `${text} ${UNITS[u]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** The bar line: `[#####.....]  42%  1.2 GiB / 2.9 GiB  850 MiB/s  ratio 0.31  eta 0:02  stop-copy`. */
export function renderBar(e: ProgressEvent, width = 24): string {
  const frac = e.total ? Math.min(1, e.bytes / e.total) : null;
  const filled = frac === null ? 0 : Math.round(frac * width);
  const bar =
    frac === null
      ? ''
      : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}%  `;
  const size = e.total ? `${formatBytes(e.bytes)} / ${formatBytes(e.total)}` : formatBytes(e.bytes);
  const section = e.section ? `  ${e.section}` : '';
  return `${bar}${size}  ${formatRate(e.rate)}  ratio ${e.ratio.toFixed(3)}  eta ${formatEta(e.eta)}${section}`;
}

/** A progress listener writing to the CLI's stderr in the chosen mode. Call `close()` when the operation ends. */
export function progressRenderer(io: CliIo, mode: ProgressMode, label: string) {
  let drawn = false;
  return {
    listener:
      mode === 'none'
        ? undefined
        : (e: ProgressEvent) => {
            if (mode === 'json') {
              io.err(`${JSON.stringify({ event: 'progress', op: label, ...e })}\n`);
            } else if (!e.done) {
              io.err(`\r\x1b[2K${label} ${renderBar(e)}`);
              drawn = true;
            }
          },
    close() {
      if (drawn) io.err('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** Bar on a TTY unless --json; NDJSON with --json; nothing otherwise or with --no-progress. */
export function chooseProgressMode(io: CliIo, json: boolean, disabled: boolean): ProgressMode {
  if (disabled) return 'none';
  if (json) return 'json';
  return io.errIsTTY ? 'bar' : 'none';
}
