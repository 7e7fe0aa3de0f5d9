// The results as Markdown: a line on the machine and the run, then one table row per strategy (ours next to its
// native twin, the ratio, wire ratios and each end's peak RSS). Pure: the same result always gives the same text.

import type { Ratio } from '../core/core-bench.ts';
import { ratioToTwin, throughputMBps, wireRatio } from './ratios.ts';
import type { SideResult, StrategyResult, SuiteResult } from './types.ts';

const MiB = 2 ** 20;

function fmt(x: number | null, digits = 0): string {
  return x === null || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

function mib(bytes: number): string {
  return bytes >= 100 * MiB ? (bytes / MiB).toFixed(0) : (bytes / MiB).toFixed(1).replace(/\.0$/, '');
}

function rss(side: SideResult): string {
  const [a, b] = side.rssKiB;
  return `${fmt(a === null ? null : a / 1024)} / ${fmt(b === null ? null : b / 1024)}`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdownTable(results: StrategyResult[]): string {
  const head = [
    'group',
    'strategy',
    'data',
    'MiB',
    'ours MB/s',
    'native twin',
    'twin MB/s',
    'ratio',
    'wire ours / twin',
    'RSS ours MiB (send / recv)',
    'RSS twin MiB (send / recv)',
  ];
  const align = ['---', '---', '---', '--:', '--:', '---', '--:', '--:', '--:', '--:', '--:'];
  const rows = results.map((r) => {
    const failed = r.error !== undefined;
    return [
      r.group,
      r.label,
      r.data,
      mib(r.bytes),
      failed ? '-' : fmt(throughputMBps(r.ours, r.bytes)),
      r.twin.name,
      failed ? '-' : fmt(throughputMBps(r.twin, r.bytes)),
      failed ? 'failed' : fmt(ratioToTwin(r), 2),
      `${fmt(wireRatio(r.ours, r.bytes), 3)} / ${fmt(wireRatio(r.twin, r.bytes), 3)}`,
      rss(r.ours),
      rss(r.twin),
    ];
  });
  return alignedTable(head, align, rows);
}

/** A Markdown table padded to its columns' widths, so it reads as a table in plain text too. */
function alignedTable(head: string[], align: string[], rows: string[][]): string {
  const cells = [head, ...rows].map((cols) => cols.map(cell));
  const widths = head.map((_, i) => Math.max(3, ...cells.map((cols) => cols[i]!.length)));
  const right = align.map((a) => a.endsWith(':'));
  const line = (cols: string[]) =>
    `| ${cols.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join('\n');
}

/** The x.y.z in a tool's banner (`*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***`). */
function version(banner: string | undefined): string {
  return /(\d+\.\d+(\.\d+)?)/.exec(banner ?? '')?.[1] ?? '';
}

/** One paragraph on where and how the numbers were taken. */
export function runSummary(s: SuiteResult): string {
  const m = s.machine;
  const perCore = Math.max(m.loadBefore, m.loadAfter) / m.cores;
  const quiet =
    perCore < 0.3
      ? 'quiet'
      : `not quiet (1-min load ${m.loadBefore.toFixed(1)} before, ${m.loadAfter.toFixed(1)} after)`;
  return [
    `${s.date.slice(0, 16).replace('T', ' ')} UTC, ${s.quick ? 'quick' : 'full'} run, ${fmt(s.durationSeconds)} s: `,
    `corpora ${mib(s.size)} MiB, simulated devices ${mib(s.simSize)} MiB, median of ${s.reps} run${s.reps > 1 ? 's' : ''}. `,
    `${m.cpu}, ${m.cores} CPUs, ${(m.memMiB / 1024).toFixed(0)} GiB, Linux ${m.kernel}, Node ${m.node}`,
    m.deno ? `, Deno ${version(m.deno)}` : '',
    ...['lz4', 'zstd', 'socat'].map((t) => (version(m.tools[t]) ? `, ${t} ${version(m.tools[t])}` : '')),
    `; machine ${quiet}.`,
  ].join('');
}

export function markdownReport(s: SuiteResult): string {
  const failed = s.results.filter((r) => r.error);
  const lines = [runSummary(s), '', markdownTable(s.results)];
  if (failed.length) {
    lines.push('', 'Failures:', '', ...failed.map((r) => `- ${r.id}: ${r.error}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The core micro benchmark's required ratios (bench/core), as a table. */
export function coreRatioTable(ratios: Ratio[]): string {
  const rows = ratios.map((q) => [q.what, q.ratio.toFixed(2), q.required.toFixed(2), q.ok ? 'ok' : 'below']);
  return alignedTable(['core: ours / reference', 'measured', 'required', ''], ['---', '--:', '--:', '---'], rows);
}
