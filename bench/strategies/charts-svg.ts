// SVG charts drawn by hand (a few rects, lines and texts; no chart library): throughput of ours and the twin per
// strategy with the ratio beside it, the ratio alone around 1, and throughput against codec workers. Pure functions
// of the results, so a fixture renders the same chart every time.
import { ratioToTwin, throughputMBps } from './ratios.ts';
import { GROUPS, type StrategyResult } from './types.ts';

const OURS = '#2b6cb0';
const TWIN = '#a0aec0';
const FONT = 'font-family="DejaVu Sans, Arial, sans-serif" font-size="12"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
}

function svg(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    // the accessible name, which screen readers and browsers' tooltips use
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Rows in group order, each group headed once; failed strategies are left out of charts (the table says so). */
function grouped(results: StrategyResult[]): { group: string; rows: StrategyResult[] }[] {
  return GROUPS.map((group) => ({ group, rows: results.filter((r) => r.group === group && !r.error) })).filter(
    (g) => g.rows.length > 0,
  );
}

function rowLabel(r: StrategyResult): string {
  return `${r.label} · ${r.data}`;
}

/** Powers of ten covering [lo, hi], for a log axis. */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  // from below lo/2, so the smallest bar is not a sliver at the axis
  for (let p = Math.floor(Math.log10(lo / 2)); p <= Math.ceil(Math.log10(hi)); p++) out.push(10 ** p);
  return out;
}

export function throughputChart(results: StrategyResult[], title: string): string {
  const groups = grouped(results);
  const values = groups.flatMap((g) =>
    g.rows.flatMap((r) => [throughputMBps(r.ours, r.bytes), throughputMBps(r.twin, r.bytes)]),
  );
  const ticks = decades(Math.max(0.1, Math.min(...values)), Math.max(...values));
  const lo = Math.log10(ticks[0]!);
  const hi = Math.log10(ticks[ticks.length - 1]!);
  const left = 230;
  const plotW = 560;
  const width = left + plotW + 80;
  const x = (v: number) => left + ((Math.log10(Math.max(v, ticks[0]!)) - lo) / (hi - lo)) * plotW;
  const body: string[] = [text(10, 20, title, 'font-size="15" font-weight="bold"')];
  body.push(
    `<rect x="${left}" y="32" width="12" height="10" fill="${OURS}"/>`,
    text(left + 16, 41, 'vfio-migrate'),
    `<rect x="${left + 110}" y="32" width="12" height="10" fill="${TWIN}"/>`,
    text(left + 126, 41, 'native twin (same bytes)'),
    text(left + plotW + 8, 41, 'ratio', 'font-weight="bold"'),
  );
  let y = 62;
  const rowsSvg: string[] = [];
  for (const g of groups) {
    rowsSvg.push(text(10, y + 12, g.group, 'font-weight="bold"'));
    y += 18;
    for (const r of g.rows) {
      const a = throughputMBps(r.ours, r.bytes);
      const b = throughputMBps(r.twin, r.bytes);
      const ratio = ratioToTwin(r);
      rowsSvg.push(
        text(left - 8, y + 14, rowLabel(r), 'text-anchor="end"'),
        `<rect x="${left}" y="${y + 2}" width="${(x(a) - left).toFixed(1)}" height="9" fill="${OURS}"/>`,
        `<rect x="${left}" y="${y + 12}" width="${(x(b) - left).toFixed(1)}" height="9" fill="${TWIN}"/>`,
        text(x(a) + 3, y + 10, a.toFixed(0), 'font-size="9" fill="#1a365d"'),
        text(x(b) + 3, y + 20, b.toFixed(0), 'font-size="9" fill="#4a5568"'),
        text(left + plotW + 8, y + 15, `×${ratio.toFixed(2)}`, `fill="${ratio >= 1 ? '#276749' : '#9c4221'}"`),
      );
      y += 26;
    }
    y += 6;
  }
  const grid = ticks.map((t) =>
    [
      `<line x1="${x(t).toFixed(1)}" y1="50" x2="${x(t).toFixed(1)}" y2="${y}" stroke="#e2e8f0"/>`,
      text(x(t), y + 14, `${t >= 1 ? t.toFixed(0) : t}`, 'text-anchor="middle" fill="#4a5568"'),
    ].join(''),
  );
  body.push(
    ...grid,
    ...rowsSvg,
    text(left + plotW / 2, y + 30, 'MB/s of raw data (log scale)', 'text-anchor="middle"'),
  );
  return svg(width, y + 42, title, body);
}

export function ratioChart(results: StrategyResult[], title: string): string {
  const groups = grouped(results);
  const ratios = groups.flatMap((g) => g.rows.map(ratioToTwin));
  // a log2 axis symmetric around 1, so twice as fast and half as fast are as far from the line
  const span = Math.max(1, Math.ceil(Math.max(...ratios.map((v) => Math.abs(Math.log2(v))))));
  const left = 230;
  const plotW = 560;
  const width = left + plotW + 60;
  const x = (v: number) => left + ((Math.log2(v) + span) / (2 * span)) * plotW;
  const body: string[] = [text(10, 20, title, 'font-size="15" font-weight="bold"')];
  body.push(text(left, 40, 'ours / native twin: right of 1 ours is faster, left the native tools are'));
  let y = 56;
  const rowsSvg: string[] = [];
  for (const g of groups) {
    rowsSvg.push(text(10, y + 12, g.group, 'font-weight="bold"'));
    y += 18;
    for (const r of g.rows) {
      const v = ratioToTwin(r);
      const x0 = Math.min(x(1), x(v));
      rowsSvg.push(
        text(left - 8, y + 12, rowLabel(r), 'text-anchor="end"'),
        `<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${Math.abs(x(v) - x(1)).toFixed(1)}" height="11" fill="${v >= 1 ? '#38a169' : '#dd6b20'}"/>`,
        text(left + plotW + 6, y + 12, v.toFixed(2)),
      );
      y += 18;
    }
    y += 6;
  }
  // a label on every power of two while they fit, else on every other one (1 always has one)
  const labelEvery = span > 5 ? 2 : 1;
  for (let p = -span; p <= span; p++) {
    const t = 2 ** p;
    body.push(
      `<line x1="${x(t).toFixed(1)}" y1="48" x2="${x(t).toFixed(1)}" y2="${y}" stroke="${t === 1 ? '#1a202c' : '#e2e8f0'}"/>`,
    );
    if (p % labelEvery === 0) {
      body.push(text(x(t), y + 14, t >= 1 ? String(t) : `1/${1 / t}`, 'text-anchor="middle" fill="#4a5568"'));
    }
  }
  body.push(...rowsSvg, text(left + plotW / 2, y + 30, 'ratio (log scale)', 'text-anchor="middle"'));
  return svg(width, y + 42, title, body);
}

const SERIES_COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1'];

/** Throughput against codec workers: ours per codec (solid) and its twin (dashed). */
export function workersChart(results: StrategyResult[], title: string): string {
  const rows = results.filter((r) => r.group === 'workers' && !r.error && r.workers !== undefined);
  const codecs = [...new Set(rows.map((r) => r.label.replace(/ w=\d+$/, '')))];
  const series = codecs.flatMap((codec, i) => {
    const of = rows.filter((r) => r.label.startsWith(`${codec} w=`)).sort((a, b) => a.workers! - b.workers!);
    const color = SERIES_COLORS[i % SERIES_COLORS.length]!;
    return [
      {
        name: `vfio-migrate ${codec}`,
        color,
        dash: '',
        points: of.map((r) => [r.workers!, throughputMBps(r.ours, r.bytes)] as const),
      },
      {
        name: `twin: ${codec.startsWith('zstd') ? 'zstd -3 -T(workers or 1) | zstd -d' : (of[0]?.twin.name ?? '')}`,
        color,
        dash: 'stroke-dasharray="6 4"',
        points: of.map((r) => [r.workers!, throughputMBps(r.twin, r.bytes)] as const),
      },
    ];
  });
  const maxW = Math.max(1, ...rows.map((r) => r.workers!));
  const maxY = niceCeil(Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1]))));
  const left = 70;
  const top = 40;
  const plotW = 520;
  const plotH = 300;
  const width = left + plotW + 290;
  const x = (w: number) => left + (w / maxW) * plotW;
  const y = (v: number) => top + plotH - (v / maxY) * plotH;
  const body: string[] = [text(10, 20, title, 'font-size="15" font-weight="bold"')];
  for (let i = 0; i <= 5; i++) {
    const v = (maxY * i) / 5;
    body.push(
      `<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${left + plotW}" y2="${y(v).toFixed(1)}" stroke="#e2e8f0"/>`,
      text(left - 6, y(v) + 4, v.toFixed(0), 'text-anchor="end" fill="#4a5568"'),
    );
  }
  for (const w of [...new Set(rows.map((r) => r.workers!))]) {
    body.push(text(x(w), top + plotH + 16, String(w), 'text-anchor="middle" fill="#4a5568"'));
  }
  body.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#1a202c"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#1a202c"/>`,
    text(left + plotW / 2, top + plotH + 34, 'codec workers (0 = on the main thread)', 'text-anchor="middle"'),
    text(16, top + plotH / 2, 'MB/s', `transform="rotate(-90 16 ${top + plotH / 2})" text-anchor="middle"`),
  );
  series.forEach((s, i) => {
    const d = s.points.map(([w, v], k) => `${k ? 'L' : 'M'}${x(w).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    body.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" ${s.dash}/>`);
    for (const [w, v] of s.points)
      body.push(`<circle cx="${x(w).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = top + 10 + i * 20;
    body.push(
      `<line x1="${left + plotW + 20}" y1="${ly}" x2="${left + plotW + 44}" y2="${ly}" stroke="${s.color}" stroke-width="2" ${s.dash}/>`,
      text(left + plotW + 50, ly + 4, s.name),
    );
  });
  return svg(width, top + plotH + 50, title, body);
}

/** The next 1, 2 or 5 times a power of ten at or above v. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
