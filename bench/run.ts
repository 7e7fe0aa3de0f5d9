// Benchmark entry: runs the WebAssembly core benchmark, prints a table with the required ratios and writes the
// results as JSON to bench/results/. Options: --quick (small sizes), --size=MB, --file-size=MB, --time=seconds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchOptions, runCoreBench } from './core/core-bench.ts';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const quick = args.has('quick');
const mb = (name: string, dflt: number) => Number(args.get(name) ?? dflt) * 1024 * 1024;
const opts: BenchOptions = {
  size: mb('size', quick ? 16 : 64),
  fileSize: mb('file-size', quick ? 64 : 512),
  maxTime: Number(args.get('time') ?? (quick ? 0.3 : 1)),
};

const log = (s: string) => process.stderr.write(`${s}\n`);
const { rows, ratios } = await runCoreBench(opts, log);

const pad = (s: string, n: number) => s.padEnd(n);
const lines: string[] = [];
lines.push(`${pad('function', 16)}${pad('corpus', 12)}${pad('implementation', 40)}${'MB/s'.padStart(9)}  note`);
for (const r of rows) {
  lines.push(`${pad(r.fn, 16)}${pad(r.corpus, 12)}${pad(r.impl, 40)}${r.mbps.toFixed(0).padStart(9)}  ${r.note ?? ''}`);
}
lines.push('', `${pad('required ratio', 52)}${'measured'.padStart(9)}${'min'.padStart(7)}`);
for (const q of ratios) {
  lines.push(
    `${pad(q.what, 52)}${q.ratio.toFixed(2).padStart(9)}${q.required.toFixed(2).padStart(7)}  ${q.ok ? 'ok' : 'BELOW'}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `core-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      opts,
      rows,
      ratios,
    },
    null,
    2,
  ),
);
log(`results written to ${file}`);
