// What every CLI command looks like, and the shared plumbing: output, --json, errors to exit codes.
import { constants as osConstants } from 'node:os';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AbortedError, UsageError, VfioMigrateError } from '../errors.ts';

export interface CliIo {
  /** Writes to standard output (data or the human report). */
  out(text: string): void;
  /** Writes to standard error (diagnostics, progress). */
  err(text: string): void;
  /** Standard error is a terminal (progress bars go there). */
  readonly errIsTTY: boolean;
  readonly env: Record<string, string | undefined>;
  /** Fires on SIGINT/SIGTERM so long operations stop cleanly. */
  readonly signal: AbortSignal;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full usage text shown by `vfio-migrate help NAME` and on usage errors. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strictness and a UsageError that says what was wrong. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
}

/** Serialises a result for --json: bigints become numbers when exact, strings otherwise. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v,
  );
}

export interface ErrorReport {
  code: string;
  message: string;
  [key: string]: unknown;
}

/** The abort reason of a CLI run stopped by a signal (Ctrl-C is SIGINT). */
export class InterruptedBySignal extends Error {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(`received ${signal}`);
    this.name = 'InterruptedBySignal';
    this.signal = signal;
  }
}

/** 128 + the signal's number, the shell's convention for a process ended by a signal (SIGINT: 130). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/**
 * The stable shape of an error in --json output and the exit code it maps to: 2 for usage errors, 128 + N when a
 * signal interrupted the run (`signal` is the run's AbortSignal), 1 for every other failure, 70 for a bug.
 */
export function describeError(err: unknown, signal?: AbortSignal): { report: ErrorReport; exitCode: number } {
  if (err instanceof VfioMigrateError) {
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(err)) if (k !== 'name' && k !== 'message' && k !== 'code') extra[k] = v;
    const interrupted = err instanceof AbortedError && signal?.reason instanceof InterruptedBySignal;
    const exitCode = interrupted
      ? signalExitCode((signal.reason as InterruptedBySignal).signal)
      : err instanceof UsageError
        ? 2
        : 1;
    return { report: { code: err.code, message: err.message, ...extra }, exitCode };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { report: { code: 'VFM_INTERNAL', message }, exitCode: 70 };
}
