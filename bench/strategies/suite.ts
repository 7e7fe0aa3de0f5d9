// Runs the planned strategies: writes their data to a temporary directory (removed afterwards), then for each
// strategy runs ours and its twin alternately (so drifting machine load hits both alike), each also on a 4 KiB
// input for its start-up time, and collects wall times, peak RSS and wire bytes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { PAGE } from '../core/corpus.ts';
import { dumpSimState, writeCorpusFile } from './corpora.ts';
import { writePipelineEndsScript } from './ends-script.ts';
import {
  type DataRef,
  dataName,
  type Io,
  planStrategies,
  type Strategy,
  selectStrategies,
  type Tools,
} from './plan.ts';
import { ratioToTwin, throughputMBps } from './ratios.ts';
import { killAll, type PairSpec, runPair } from './runner.ts';
import { makeTlsFiles, type TlsFiles } from './tls-certs.ts';
import type { MachineInfo, SideResult, StrategyResult, SuiteResult } from './types.ts';

export interface SuiteOptions {
  quick: boolean;
  /** Bytes of each corpus and simulated device. */
  size: number;
  /** Bytes of each simulated device (the device path is slower, so it gets less in the quick run). */
  simSize: number;
  reps: number;
  only: string[] | null;
  tools: Tools;
  log: (line: string) => void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  // the first line that carries a version number (socat's is the second)
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n');
  return lines.find((l) => /\d+\.\d+/.test(l)) ?? lines[0] ?? '';
}

export function machineInfo(tools: Tools): Omit<MachineInfo, 'loadAfter'> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memMiB: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    node: process.version,
    deno: tools.deno ? version(tools.deno, ['--version']) : null,
    tools: {
      lz4: version('lz4', ['-V']),
      zstd: version('zstd', ['-V']),
      socat: version('socat', ['-V']),
      openssl: version('openssl', ['version']),
    },
    loadBefore: loadavg()[0]!,
  };
}

export async function runStrategies(o: SuiteOptions): Promise<SuiteResult> {
  const began = Date.now();
  const machine = machineInfo(o.tools);
  const plan = selectStrategies(planStrategies(o.tools, o.quick, o.size, o.simSize), o.only);
  const tmp = mkdtempSync(join(tmpdir(), 'vfm-strategies-'));
  const results: StrategyResult[] = [];
  // Ctrl-C or a kill: end the running pipelines and remove the data before exiting, as a finished run does
  const interrupted = (signal: NodeJS.Signals) => {
    killAll();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const cli = `'${o.tools.node}' '${join(o.tools.root, 'dist/cli/launcher.js')}'`;
    writePipelineEndsScript(o.tools.root);
    // the data, once per distinct corpus/device and size
    const files = new Map<string, { file: string; bytes: number }>();
    const key = (d: DataRef) => `${dataName(d)}@${d.bytes}`;
    for (const s of plan) {
      const k = key(s.data);
      if (files.has(k)) continue;
      const file = join(tmp, k.replace(/[^\w@.-]/g, '_'));
      o.log(`data: ${k} -> ${file}`);
      let bytes = s.data.bytes;
      if (s.data.kind === 'corpus') writeCorpusFile(s.data.name, s.data.bytes, file);
      else bytes = dumpSimState(cli, s.data.profile, s.data.bytes, file);
      files.set(k, { file, bytes });
    }
    // start-up runs: one page of data, a one-page device
    const tiny = join(tmp, 'tiny');
    writeCorpusFile('mixed', PAGE, tiny);
    const tls: TlsFiles | null = plan.some((s) => s.id.includes('/tls/')) ? makeTlsFiles(tmp) : null;
    let sockets = 0;
    const io = async (file: string, simSize: number): Promise<Io> => ({
      file,
      simSize,
      port: await freePort(),
      sock: join(tmp, `s${sockets++}.sock`),
      tls,
    });
    // start-up times depend on the command, not on the data: measured once per command
    const startups = new Map<string, number[]>();
    const startupOf = async (pair: (io: Io) => PairSpec, failures: string[]): Promise<number[]> => {
      const k = JSON.stringify(pair({ file: tiny, simSize: PAGE, port: 0, sock: 'S', tls }));
      let times = startups.get(k);
      if (!times) {
        times = [];
        for (let i = 0; i < o.reps; i++) {
          const r = await runPair(pair(await io(tiny, PAGE)), tmp);
          if (!r.ok) failures.push(`start-up run failed: ${tail(r.output)}`);
          times.push(r.seconds);
        }
        startups.set(k, times);
      }
      return times;
    };

    // Deno transpiles and caches a script on its first run: that run is not measured
    if (o.tools.deno && plan.some((s) => s.id.includes('deno'))) {
      const floor = plan.find((s) => s.id.includes('deno'))!;
      await runPair(floor.ours.pair(await io(tiny, PAGE)), tmp);
    }
    for (const [i, s] of plan.entries()) {
      const { file, bytes } = files.get(key(s.data))!;
      const failures: string[] = [];
      const side = (name: string): SideResult => ({
        name,
        seconds: [],
        startupSeconds: [],
        rssKiB: [null, null],
        wireBytes: null,
      });
      const ours = side(s.ours.name);
      const twin = side(s.twin.name);
      ours.startupSeconds = await startupOf(s.ours.pair, failures);
      twin.startupSeconds = await startupOf(s.twin.pair, failures);
      for (let rep = 0; rep < o.reps; rep++) {
        for (const [which, res] of [
          [s.ours, ours],
          [s.twin, twin],
        ] as const) {
          const r = await runPair(which.pair(await io(file, s.data.bytes)), tmp);
          if (!r.ok) failures.push(`${which.name} failed: ${tail(r.output)}`);
          res.seconds.push(r.seconds);
          res.rssKiB = [maxOf(res.rssKiB[0], r.rssKiB[0]), maxOf(res.rssKiB[1], r.rssKiB[1])];
          if (which === s.ours) res.wireBytes = wireFromOutput(r.output) ?? res.wireBytes;
        }
      }
      twin.wireBytes = s.twin.wire ? twinWire(s.twin.wire(await io(file, s.data.bytes))) : bytes;
      // a plain copy puts every byte on the wire
      if (s.group === 'floor') ours.wireBytes = bytes;
      const result: StrategyResult = {
        id: s.id,
        group: s.group,
        label: s.label,
        data: dataName(s.data),
        bytes,
        ours,
        twin,
        ...(s.workers === undefined ? {} : { workers: s.workers }),
        ...(failures.length ? { error: failures.join('; ') } : {}),
      };
      results.push(result);
      o.log(progressLine(i + 1, plan.length, s, result));
    }
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    rmSync(tmp, { recursive: true, force: true });
  }
  return {
    date: new Date(began).toISOString(),
    durationSeconds: (Date.now() - began) / 1000,
    quick: o.quick,
    size: o.size,
    simSize: o.simSize,
    reps: o.reps,
    machine: { ...machine, loadAfter: loadavg()[0]! },
    results,
  };
}

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function tail(output: string): string {
  return output.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
}

/** Ours print their result as JSON (pipeline-ends' encoder on stderr, the CLI's save and load with --json). */
export function wireFromOutput(output: string): number | null {
  const m = /"wireBytes":(\d+)/.exec(output);
  return m ? Number(m[1]) : null;
}

function twinWire(command: string): number | null {
  try {
    return Number(execFileSync('bash', ['-c', `set -o pipefail; ${command}`], { encoding: 'utf8' }).trim());
  } catch {
    return null;
  }
}

function progressLine(n: number, of: number, s: Strategy, r: StrategyResult): string {
  const head = `[${n}/${of}] ${s.group} ${s.label} on ${r.data}`;
  if (r.error) return `${head}: FAILED ${r.error}`;
  const a = throughputMBps(r.ours, r.bytes);
  const b = throughputMBps(r.twin, r.bytes);
  return `${head}: ours ${a.toFixed(0)} MB/s, ${r.twin.name} ${b.toFixed(0)} MB/s, ratio ${ratioToTwin(r).toFixed(2)}`;
}
