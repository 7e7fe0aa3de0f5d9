// What every CLI command looks like, and the shared plumbing: options, output, --json, errors to exit codes.
import { parseArgs } from 'node:util';
import { type ErrorCode, UsageError, VfioMigrateError } from '../errors.ts';
import { EXIT, exitStatusFor } from './exit-status.ts';

/** How much a run prints besides its result: --quiet, the default, --verbose. */
export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface CliIo {
  /** Writes to standard output (data or the human report). */
  out(text: string): void;
  /** Writes to standard error (diagnostics, progress). */
  err(text: string): void;
  /** Standard error is a terminal (progress bars go there). */
  readonly errIsTTY: boolean;
  /** Standard output is a terminal (binary data is not written there unless forced). */
  readonly outIsTTY?: boolean;
  /** Standard input is a terminal (a stream is not read from the keyboard). */
  readonly inIsTTY?: boolean;
  /** The width of the terminal behind stderr, asked at each redraw since it changes on resize. */
  errColumns?(): number | undefined;
  /** Calls `listener` whenever the terminal behind stderr is resized; returns the unsubscribe function. */
  onErrResize?(listener: () => void): () => void;
  readonly env: Record<string, string | undefined>;
  /** Fires on SIGINT/SIGTERM/SIGHUP so long operations stop cleanly. */
  readonly signal: AbortSignal;
  /** Set by runCli from --quiet / --verbose. */
  readonly verbosity?: Verbosity;
}

/** A node:util parseArgs option table, spelled out so the published declarations need no particular @types/node. */
export type OptionTable = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean | string[] | boolean[] }
>;

/**
 * What shell completion offers for an option's value or a positional argument: fixed words, a file name, a device
 * spec, a command name, a migration state.
 */
export type CompletionHint = readonly string[] | 'file' | 'device' | 'command' | 'state';

type StrictConfig<O extends OptionTable> = { args: string[]; options: O; allowPositionals: true; strict: true };

/** The option values node:util parseArgs gives for the table `O`. */
export type OptionValues<O extends OptionTable> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];

/** Options every command takes; runCli handles them before the command runs. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies OptionTable;

export interface ParsedArgs<O extends OptionTable> {
  values: OptionValues<O & typeof COMMON_OPTIONS>;
  positionals: string[];
}

export interface CommandSpec<O extends OptionTable> {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full usage text shown by `vfio-migrate help NAME`. */
  readonly usage: string;
  /** The command's options (node:util parseArgs), also the source of shell completion. */
  readonly options: O;
  /** What each option's value completes to, by option name. */
  readonly optionValues?: { readonly [K in keyof O]?: CompletionHint };
  /** What each positional argument completes to, in order; absent when the command takes none. */
  readonly positionals?: readonly CompletionHint[];
  /** Runs with the parsed arguments; resolves with the exit code. */
  run(args: ParsedArgs<O>, io: CliIo): Promise<number>;
  /** True when stdout carries the command's data (`save -o -`): its reports, a failure's too, go to stderr. */
  readonly dataOnStdout?: (values: ParsedArgs<O>['values']) => boolean;
}

/** A command of the table, its option types erased. */
export type Command = CommandSpec<OptionTable>;

/** Declares a command, checking `run` against its own option table. */
export function defineCommand<O extends OptionTable>(spec: CommandSpec<O>): Command {
  return spec as unknown as Command;
}

/** node:util parseArgs with strictness and a UsageError that says what was wrong. */
export function parseCommandArgs<O extends OptionTable>(
  argv: string[],
  options: O,
  allowPositionals: boolean,
): { values: OptionValues<O>; positionals: string[] } {
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
  /** The error's code; VFM_INTERNAL for a bug (an error that is not a VfioMigrateError). */
  code: ErrorCode | 'VFM_INTERNAL';
  message: string;
  [key: string]: unknown;
}

/**
 * The stable shape of an error in --json output and the exit code it maps to (see exit-status.ts): 2 for usage
 * errors, 128 + N when a signal interrupted the run (`signal` is the run's AbortSignal), 1 for every other
 * failure, 70 for a bug.
 */
export function describeError(err: unknown, signal?: AbortSignal): { report: ErrorReport; exitCode: number } {
  const exitCode = exitStatusFor(err, signal);
  if (err instanceof VfioMigrateError) {
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(err)) if (k !== 'name' && k !== 'message' && k !== 'code') extra[k] = v;
    return { report: { code: err.code, message: err.message, ...extra }, exitCode };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { report: { code: 'VFM_INTERNAL', message }, exitCode: EXIT.INTERNAL };
}
