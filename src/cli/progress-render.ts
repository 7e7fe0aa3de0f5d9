// Progress of save/load on the command line: a one-line bar redrawn on a TTY and fitted to its width, plain lines on
// a dumb terminal, NDJSON events with --json.
import type { ProgressEvent } from '../pipeline/progress-meter.ts';
import type { CliIo } from './command.ts';

export type ProgressMode = 'bar' | 'plain' | 'json' | 'none';

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

/** The widest bar; narrower terminals get a shorter one, down to MIN_BAR, before fields are dropped. */
const BAR_WIDTH = 24;
const MIN_BAR = 10;

/** Fields a narrow terminal loses first: the least useful go first, percent and bytes moved stay to the end. */
const DROP_ORDER = ['section', 'ratio', 'label', 'bar', 'rate', 'total', 'eta'] as const;
type Droppable = (typeof DROP_ORDER)[number];

function composeLine(label: string, e: ProgressEvent, dropped: ReadonlySet<Droppable>, barWidth: number): string {
  const frac = e.total ? Math.min(1, e.bytes / e.total) : null;
  const parts: string[] = [];
  if (label && !dropped.has('label')) parts.push(label);
  if (frac !== null) {
    const percent = `${String(Math.floor(frac * 100)).padStart(3)}%`;
    if (dropped.has('bar')) parts.push(percent.trimStart());
    else {
      const filled = Math.round(frac * barWidth);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${percent}`);
    }
  }
  parts.push(
    e.total && !dropped.has('total') ? `${formatBytes(e.bytes)} / ${formatBytes(e.total)}` : formatBytes(e.bytes),
  );
  if (!dropped.has('rate')) parts.push(formatRate(e.rate));
  if (!dropped.has('ratio')) parts.push(`ratio ${e.ratio.toFixed(3)}`);
  if (!dropped.has('eta')) parts.push(`eta ${formatEta(e.eta)}`);
  if (e.section && !dropped.has('section')) parts.push(e.section);
  // one space after the label, two between the other fields
  const [first, ...rest] = parts;
  return label && !dropped.has('label') ? `${first} ${rest.join('  ')}` : parts.join('  ');
}

/** The bar line: `[#####.....]  42%  1.2 GiB / 2.9 GiB  850 MiB/s  ratio 0.31  eta 0:02  stop-copy`. */
export function renderBar(e: ProgressEvent, width = BAR_WIDTH): string {
  return composeLine('', e, new Set(), width);
}

/**
 * The progress line for a terminal `columns` wide: it never reaches the last column (a line that fills the row
 * wraps, and the next redraw would leave it behind). The bar narrows first, then fields go in DROP_ORDER.
 */
export function fitProgressLine(label: string, e: ProgressEvent, columns: number | undefined): string {
  if (columns === undefined) return composeLine(label, e, new Set(), BAR_WIDTH);
  const room = Math.max(1, columns - 1);
  const dropped = new Set<Droppable>();
  for (let i = 0; ; i++) {
    const hasBar = Boolean(e.total) && !dropped.has('bar');
    if (hasBar) {
      const spare = room - composeLine(label, e, dropped, 0).length;
      if (spare >= MIN_BAR) return composeLine(label, e, dropped, Math.min(BAR_WIDTH, spare));
    } else {
      const line = composeLine(label, e, dropped, 0);
      if (line.length <= room) return line;
    }
    const next = DROP_ORDER[i];
    if (next === undefined) return composeLine(label, e, dropped, 0).slice(0, room);
    dropped.add(next);
  }
}

/** Plain mode (TERM=dumb) writes a whole line at most this often: no redraw in place, so no flood either. */
const PLAIN_INTERVAL_MS = 5000;

/** Assumed width of a terminal that does not say (a dumb terminal often cannot). */
const DEFAULT_COLUMNS = 80;

/** A progress listener writing to the CLI's stderr in the chosen mode. Call `close()` when the operation ends. */
export function progressRenderer(io: CliIo, mode: ProgressMode, label: string) {
  let last: ProgressEvent | undefined;
  // what the bar occupies on screen now, to clear it whole even after the terminal narrowed and rewrapped it
  let drawnLength = 0;
  let nextPlainAt = 0;
  const columns = () => io.errColumns?.();

  const clear = (): string => {
    if (drawnLength === 0) return '\r\x1b[2K';
    const cols = columns();
    const rows = cols ? Math.max(1, Math.ceil(drawnLength / cols)) : 1;
    drawnLength = 0;
    return rows > 1 ? `\r\x1b[${rows - 1}A\x1b[J` : '\r\x1b[2K';
  };
  const draw = (e: ProgressEvent) => {
    const line = fitProgressLine(label, e, columns());
    io.err(`${clear()}${line}`);
    drawnLength = line.length;
  };
  const unsubscribe = mode === 'bar' ? io.onErrResize?.(() => last && drawnLength > 0 && draw(last)) : undefined;

  return {
    listener:
      mode === 'none'
        ? undefined
        : (e: ProgressEvent) => {
            if (mode === 'json') {
              io.err(`${JSON.stringify({ event: 'progress', op: label, ...e })}\n`);
            } else if (e.done) {
              // the summary follows: nothing to draw
            } else if (mode === 'bar') {
              last = e;
              draw(e);
            } else if (e.elapsedMs >= nextPlainAt) {
              nextPlainAt = e.elapsedMs + PLAIN_INTERVAL_MS;
              io.err(`${fitProgressLine(label, e, columns() ?? DEFAULT_COLUMNS)}\n`);
            }
          },
    close() {
      unsubscribe?.();
      if (drawnLength > 0) io.err(clear());
    },
  };
}

/**
 * A bar redrawn in place on a terminal; whole lines now and then on a dumb one (TERM=dumb: no cursor control);
 * NDJSON with --json; nothing when stderr is not a terminal, with --no-progress, or with --quiet.
 */
export function chooseProgressMode(io: CliIo, json: boolean, disabled: boolean): ProgressMode {
  if (disabled || io.verbosity === 'quiet') return 'none';
  if (json) return 'json';
  if (!io.errIsTTY) return 'none';
  return io.env.TERM === 'dumb' ? 'plain' : 'bar';
}
