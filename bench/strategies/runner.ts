// Runs the two ends of one strategy once and times them: a pipe (every process of both ends in one bash pipeline)
// or a socket (the listening end first, the connecting end once the listener says it listens). Wall time runs from
// the first process's start to the last one's exit; each process's peak RSS is added to its end's.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { readRss, withRss } from './rss.ts';

/** One process of an end: a bash command line; `end` 0 is the sender, 1 the receiver. */
export interface Proc {
  cmd: string;
  end: 0 | 1;
}

export type PairSpec =
  | { kind: 'pipe'; procs: Proc[] }
  | { kind: 'socket'; listener: Proc[]; connector: Proc[]; ready: RegExp };

export interface RunOutcome {
  ok: boolean;
  seconds: number;
  rssKiB: [number | null, number | null];
  /** stdout and stderr of all processes, for the results they print (wire bytes) and for errors. */
  output: string;
}

const TIMEOUT_MS = 15 * 60_000;

let serial = 0;

function pipeline(procs: Proc[], tmp: string, rssFiles: { file: string; end: 0 | 1 }[]): string {
  const parts = procs.map((p) => {
    const file = join(tmp, `rss-${process.pid}-${serial++}`);
    rssFiles.push({ file, end: p.end });
    return withRss(p.cmd, file);
  });
  // pipefail: a failing sender must fail the run even when the receiver exits 0
  return `set -o pipefail; ${parts.join(' | ')}`;
}

interface Started {
  child: ChildProcess;
  done: Promise<number>;
}

/** Every pipeline still running, so an interrupted benchmark can end them (they are in groups of their own). */
const live = new Set<Started>();

/** Ends every pipeline this process started and has not seen exit. */
export function killAll(): void {
  for (const s of live) killGroup(s);
}

function start(script: string, onOutput: (s: string) => void): Started {
  // detached: its own process group, so a timeout ends the whole pipeline (and nothing else)
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.setEncoding('utf8').on('data', onOutput);
  child.stderr!.setEncoding('utf8').on('data', onOutput);
  const done = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      live.delete(started);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
  const started = { child, done };
  live.add(started);
  return started;
}

function killGroup(s: Started): void {
  if (s.child.pid && s.child.exitCode === null) {
    try {
      process.kill(-s.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function runPair(spec: PairSpec, tmp: string): Promise<RunOutcome> {
  const rssFiles: { file: string; end: 0 | 1 }[] = [];
  let output = '';
  const started: Started[] = [];
  const t0 = process.hrtime.bigint();
  const timer = setTimeout(() => {
    output += '\n(timed out)';
    for (const s of started) killGroup(s);
  }, TIMEOUT_MS);
  let codes: number[];
  try {
    if (spec.kind === 'pipe') {
      const s = start(pipeline(spec.procs, tmp, rssFiles), (d) => (output += d));
      started.push(s);
      codes = [await s.done];
    } else {
      let onReady!: () => void;
      const ready = new Promise<void>((resolve) => (onReady = resolve));
      let seen = '';
      const listener = start(pipeline(spec.listener, tmp, rssFiles), (d) => {
        output += d;
        seen += d;
        if (spec.ready.test(seen)) onReady();
      });
      started.push(listener);
      // a listener that dies before listening must not leave us waiting
      const first = await Promise.race([ready.then(() => 'ready' as const), listener.done]);
      if (first !== 'ready') {
        codes = [first];
      } else {
        const connector = start(pipeline(spec.connector, tmp, rssFiles), (d) => (output += d));
        started.push(connector);
        codes = await Promise.all([listener.done, connector.done]);
        // a failed connector leaves the listener waiting for a peer: end it
        if (codes[1] !== 0) killGroup(listener);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rssKiB: [number | null, number | null] = [null, null];
  for (const { file, end } of rssFiles) {
    const kib = readRss(file);
    if (kib !== null) rssKiB[end] = (rssKiB[end] ?? 0) + kib;
  }
  return { ok: codes.every((c) => c === 0), seconds, rssKiB, output };
}
