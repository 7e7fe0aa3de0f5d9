#!/usr/bin/env node
// The vfio-migrate process: this process's arguments, streams, terminal and signals, handed to runCli. The CLI's
// entry (it runs when executed, hence the top-level await); the library's entry exports runCli from run-cli.ts.
import { realpathSync } from 'node:fs';
import process from 'node:process';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import type { CliIo } from './command.ts';
import { startEarly } from './early-start.ts';
import { EXIT, InterruptedBySignal, signalExitCode } from './exit-status.ts';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Signals within this long of the first are the same request: a terminal's Ctrl-C reaches both the launcher and
 * this process, and the launcher forwards its copy too.
 */
const REPEAT_GRACE_MS = 1000;

function stopOnSignals(controller: AbortController): void {
  let first = 0;
  for (const sig of STOP_SIGNALS) {
    process.on(sig, () => {
      if (!controller.signal.aborted) {
        // the run stops cleanly: the device is returned to RUNNING or reset, no partial output is left
        first = performance.now();
        controller.abort(new InterruptedBySignal(sig));
      } else if (performance.now() - first > REPEAT_GRACE_MS) {
        // asked again: do not wait for the clean stop
        process.stderr.write(
          `vfio-migrate: ${sig} again, exiting without waiting; a device may be left mid-migration ` +
            "(see 'vfio-migrate recover')\n",
        );
        process.exit(signalExitCode(sig));
      }
    });
  }
}

function processIo(): CliIo {
  const controller = new AbortController();
  stopOnSignals(controller);
  // A reader gone or a descriptor refusing writes (EPIPE, EBADF) fails the run that writes there and is reported on
  // the other stream; a last text line that cannot be written must not end the process with a stack trace.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    errIsTTY: Boolean(process.stderr.isTTY),
    outIsTTY: Boolean(process.stdout.isTTY),
    // isatty, not process.stdin.isTTY: touching process.stdin opens a handle on fd 0, and a pipe there is read by
    // its own reader (pipeFdSource)
    inIsTTY: isatty(0),
    errColumns: () => (process.stderr.isTTY ? process.stderr.columns : undefined),
    onErrResize(listener) {
      process.stderr.on('resize', listener);
      return () => void process.stderr.off('resize', listener);
    },
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
    const argv = process.argv.slice(2);
    // The device threads boot on another core while this one loads the commands' modules (already started when
    // the launcher ran first).
    startEarly(argv);
    const { runCli } = await import('./run-cli.ts');
    process.exitCode = await runCli(argv, processIo());
  } catch (err) {
    process.stderr.write(`vfio-migrate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.INTERNAL;
  }
}

if (isMainModule()) await main();
