// How the outcome of a CLI run maps to the process's exit status: the table the README documents and scripts rely on.
import { constants as osConstants } from 'node:os';
import { AbortedError, type ErrorCode, VfioMigrateError } from '../errors.ts';

/** The exit statuses of `vfio-migrate`, besides 128 + N for a run ended by signal N. */
export const EXIT = {
  /** The command did what it was asked. */
  OK: 0,
  /** It failed: a device, stream, transport or verification error (the code is on stderr and in --json). */
  FAILURE: 1,
  /** The command line is wrong: nothing was attempted beyond reading it. */
  USAGE: 2,
  /** A bug in vfio-migrate (sysexits' EX_SOFTWARE): an error that is not a VfioMigrateError. */
  INTERNAL: 70,
} as const;

/**
 * Codes that say the command line itself is wrong (an unknown option, a bad value, a spec that names nothing), so
 * they exit 2 like any usage error, whichever layer noticed: the CLI, the state machine or the pipeline's checks.
 */
export const USAGE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'VFM_USAGE',
  'VFM_UNKNOWN_STATE',
  'VFM_UNKNOWN_FLAG',
  'VFM_FLAGS_NO_STOP_COPY',
  'VFM_DEVICE_SPEC',
  'VFM_TRANSPORT_SPEC',
  'VFM_PIPELINE_CONFIG',
]);

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

/** The exit status for a run that threw `err`; `signal` is the run's AbortSignal (a signal's abort gives 128 + N). */
export function exitStatusFor(err: unknown, signal?: AbortSignal): number {
  if (!(err instanceof VfioMigrateError)) return EXIT.INTERNAL;
  if (err instanceof AbortedError && signal?.reason instanceof InterruptedBySignal) {
    return signalExitCode(signal.reason.signal);
  }
  return USAGE_ERROR_CODES.has(err.code) ? EXIT.USAGE : EXIT.FAILURE;
}
