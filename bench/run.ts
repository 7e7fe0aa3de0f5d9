// Benchmark entry. Runs the WebAssembly core micro benchmarks (bench/core) and the transfer strategies
// (bench/strategies: each codec, level, chunking, worker count, transport and simulated device next to its native
// twin on the same bytes, plus the runtime floor), prints the tables and writes JSON, Markdown and SVG charts to
// bench/results/ (with --reference, also to bench/reference/, the copies the README shows).
//   node bench/run.ts [--quick] [--only=core,codec,workers,tls,...] [--size=MiB] [--sim-size=MiB] [--reps=N]
//                     [--reference] [--core-size=MiB] [--file-size=MiB] [--time=seconds]
//   node bench/run.ts --render=bench/results/STAMP-strategies.json [--reference]   (the reports of a saved run)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchOptions, type Ratio, type Row, runCoreBench } from './core/core-bench.ts';
import { ratioChart, throughputChart, workersChart } from './strategies/charts-svg.ts';
import { wholePages } from './strategies/corpora.ts';
import { coreRatioTable, markdownReport } from './strategies/report-markdown.ts';
import { runStrategies } from './strategies/suite.ts';
import { GROUPS, type SuiteResult } from './strategies/types.ts';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const known = [
  'quick',
  'only',
  'size',
  'sim-size',
  'reps',
  'reference',
  'render',
  'core-size',
  'file-size',
  'time',
  'help',
];
const unknown = [...args.keys()].filter((k) => !known.includes(k));
if (unknown.length || args.has('help')) {
  process.stderr.write(
    `${unknown.length ? `unknown option ${unknown.join(', ')}\n` : ''}usage: node bench/run.ts [--quick] ` +
      `[--only=core,${GROUPS.join(',')},ID-PART] [--size=MiB] [--sim-size=MiB] [--reps=N] [--reference] ` +
      '[--core-size=MiB] [--file-size=MiB] [--time=s] | --render=RESULTS.json [--reference]\n',
  );
  process.exit(unknown.length ? 2 : 0);
}
const quick = args.has('quick');
const only = args.get('only')?.split(',').filter(Boolean) ?? null;
const wants = (part: string) => !only || only.includes(part);
const strategyFilter = only?.filter((o) => o !== 'core') ?? null;
const MiB = 2 ** 20;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(root, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const log = (s: string) => process.stderr.write(`${s}\n`);
const began = Date.now();

// ---- core micro benchmarks ----
let coreRatios: Ratio[] = [];
if (wants('core') && !args.has('render')) {
  const mb = (name: string, dflt: number) => Number(args.get(name) ?? dflt) * MiB;
  // quick: small enough that the whole quick run stays under two minutes on 2 CPUs
  const opts: BenchOptions = {
    size: mb('core-size', quick ? 8 : 64),
    // the tools' files stay at 64 MiB: smaller, their start-up (subtracted) is most of the time and the ratio noise
    fileSize: mb('file-size', quick ? 64 : 512),
    maxTime: Number(args.get('time') ?? (quick ? 0.05 : 1)),
  };
  log('core micro benchmarks');
  const { rows, ratios } = await runCoreBench(opts, log);
  coreRatios = ratios;
  process.stdout.write(`${coreText(rows, ratios)}\n\n`);
  const file = join(resultsDir, `core-${stamp}.json`);
  writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, opts, rows, ratios }, null, 2),
  );
  log(`core results written to ${file}`);
}

// ---- transfer strategies ----
if (args.has('render')) {
  // the reports of a saved run again (after a change to the rendering, or to make a run the reference)
  const saved = JSON.parse(readFileSync(args.get('render')!, 'utf8')) as SuiteResult & { coreRatios?: Ratio[] };
  writeReports(saved, saved.coreRatios ?? []);
} else if (only === null || (strategyFilter?.length ?? 0) > 0) {
  const size = wholePages(Number(args.get('size') ?? (quick ? 32 : 256)) * MiB);
  const simSize = wholePages(Number(args.get('sim-size') ?? (quick ? 8 : 64)) * MiB);
  const suite = await runStrategies({
    quick,
    size,
    simSize,
    reps: Number(args.get('reps') ?? (quick ? 1 : 3)),
    only: strategyFilter,
    tools: { node: process.execPath, deno: denoPath(), root },
    log,
  });
  writeReports(suite, coreRatios);
}
log(`bench done in ${((Date.now() - began) / 1000).toFixed(0)} s`);

/** JSON, Markdown and the charts under bench/results/ (and bench/reference/ with --reference); the table to stdout. */
function writeReports(suite: SuiteResult, core: Ratio[]): void {
  const md = `${markdownReport(suite)}${core.length ? `\n${coreRatioTable(core)}\n` : ''}`;
  process.stdout.write(md);
  const plan = `${suite.quick ? 'quick' : 'full'} plan, ${suite.size / MiB} MiB corpora, ${suite.simSize / MiB} MiB devices`;
  const title = `vfio-migrate vs native tools on the same bytes (${plan})`;
  const outputs: Record<string, string> = {
    'strategies.json': JSON.stringify({ ...suite, coreRatios: core }, null, 2),
    'strategies.md': md,
    'strategies.svg': throughputChart(suite.results, title),
    'ratio.svg': ratioChart(suite.results, 'Ratio to the native twin, per strategy'),
    'workers.svg': workersChart(suite.results, 'Throughput against codec workers (mixed corpus, pipe)'),
  };
  for (const [name, content] of Object.entries(outputs)) writeFileSync(join(resultsDir, `${stamp}-${name}`), content);
  log(`strategy results written to ${resultsDir}/${stamp}-*`);
  if (args.has('reference')) {
    const refDir = join(root, 'bench/reference');
    mkdirSync(refDir, { recursive: true });
    // the Markdown and the charts (the README shows them); the JSON stays in bench/results/, for --render
    for (const [name, content] of Object.entries(outputs)) {
      if (!name.endsWith('.json')) writeFileSync(join(refDir, name), content);
    }
    log(`reference copies written to ${refDir}`);
  }
}

function denoPath(): string | null {
  // the project's pinned Deno (a dev dependency), for the runtime floor
  const deno = join(root, 'node_modules/.bin/deno');
  return existsSync(deno) ? deno : null;
}

/** The core benchmark's plain-text table, as it always printed. */
function coreText(rows: Row[], ratios: Ratio[]): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines: string[] = [];
  lines.push(`${pad('function', 16)}${pad('corpus', 12)}${pad('implementation', 40)}${'MB/s'.padStart(9)}  note`);
  for (const r of rows) {
    lines.push(
      `${pad(r.fn, 16)}${pad(r.corpus, 12)}${pad(r.impl, 40)}${r.mbps.toFixed(0).padStart(9)}  ${r.note ?? ''}`,
    );
  }
  lines.push('', `${pad('required ratio', 52)}${'measured'.padStart(9)}${'min'.padStart(7)}`);
  for (const q of ratios) {
    lines.push(
      `${pad(q.what, 52)}${q.ratio.toFixed(2).padStart(9)}${q.required.toFixed(2).padStart(7)}  ${q.ok ? 'ok' : 'BELOW'}`,
    );
  }
  return lines.join('\n');
}
