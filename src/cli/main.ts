#!/usr/bin/env node
// The vfio-migrate command line: parses, calls the library, renders. One file per command.
import { realpathSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { type CliIo, type Command, describeError, InterruptedBySignal, toJson } from './command.ts';
import { devicesCommand } from './devices-command.ts';
import { fsmCommand } from './fsm-command.ts';
import { inspectCommand } from './inspect-command.ts';
import { loadCommand } from './load-command.ts';
import { recoverCommand, resetCommand } from './reset-command.ts';
import { saveCommand } from './save-command.ts';
import { simCommand } from './sim-command.ts';

const commands: Command[] = [
  fsmCommand,
  simCommand,
  devicesCommand,
  saveCommand,
  loadCommand,
  inspectCommand,
  recoverCommand,
  resetCommand,
];

const VERSION = '0.1.0';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: vfio-migrate COMMAND [options]',
    '',
    'VFIO device migration (Linux migration protocol v2): state machine, devices, save/load/inspect.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'vfio-migrate help COMMAND' for a command's options. Most commands take --json.",
    '',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. Exported for tests. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    const cmd = topic ? commands.find((c) => c.name === topic) : undefined;
    if (topic && !cmd) {
      io.err(`vfio-migrate: unknown command ${JSON.stringify(topic)}\n\n${overview()}`);
      return 2;
    }
    io.out(cmd ? `${cmd.usage}\n` : overview());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.err(`vfio-migrate: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    const { report, exitCode } = describeError(err, io.signal);
    if (rest.includes('--json')) io.out(`${toJson({ ok: false, error: report })}\n`);
    // The error says where the device was when it failed; finalState, where it ended once the failure was handled.
    const after = typeof report.finalState === 'string' ? ` (device now ${report.finalState})` : '';
    io.err(`vfio-migrate ${name}: ${report.code}: ${report.message}${after}\n`);
    if (err instanceof UsageError) io.err(`\n${cmd.usage}\n`);
    else if (report.code === 'VFM_INTERNAL' && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    return exitCode;
  }
}

function processIo(): CliIo {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => controller.abort(new InterruptedBySignal(sig)));
  }
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    errIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    signal: controller.signal,
  };
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    // npm links bins through symlinks; compare real paths.
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the CLI on this process's arguments, streams and signals, and sets the exit code. */
export async function main(): Promise<void> {
  try {
    process.exitCode = await runCli(process.argv.slice(2), processIo());
  } catch (err) {
    process.stderr.write(`vfio-migrate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  }
}

if (isMainModule()) await main();
