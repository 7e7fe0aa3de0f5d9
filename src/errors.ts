// One class per failure, each with a stable string `code` that callers, the CLI and JSON output rely on.
// Codes never change once released; messages may. Add new classes here, never ad-hoc Error objects.

export class VfioMigrateError extends Error {
  /** Stable machine-readable identifier of the failure. */
  readonly code: string = 'VFM_ERR';
  override name = 'VfioMigrateError';
}

// ---- usage and input -------------------------------------------------------------------------------------------

export class UsageError extends VfioMigrateError {
  override readonly code: string = 'VFM_USAGE';
  override name = 'UsageError';
}

export class UnknownStateError extends VfioMigrateError {
  override readonly code = 'VFM_UNKNOWN_STATE';
  override name = 'UnknownStateError';
  readonly input: string;
  constructor(input: string | number) {
    super(
      `unknown migration state ${JSON.stringify(input)}: expected a name (ERROR, STOP, RUNNING, STOP_COPY, RESUMING, ` +
        'RUNNING_P2P, PRE_COPY, PRE_COPY_P2P) or its uAPI number 0-7',
    );
    this.input = String(input);
  }
}

export class UnknownFlagError extends VfioMigrateError {
  override readonly code = 'VFM_UNKNOWN_FLAG';
  override name = 'UnknownFlagError';
  readonly input: string;
  constructor(input: string | number) {
    super(
      typeof input === 'number'
        ? `migration flags 0x${input.toString(16)} have bits this tool does not know (known: STOP_COPY=1, P2P=2, PRE_COPY=4)`
        : `unknown migration flag ${JSON.stringify(input)}: expected stop-copy, p2p or pre-copy`,
    );
    this.input = String(input);
  }
}

export class FlagsWithoutStopCopyError extends VfioMigrateError {
  override readonly code = 'VFM_FLAGS_NO_STOP_COPY';
  override name = 'FlagsWithoutStopCopyError';
  readonly flags: number;
  constructor(flags: number) {
    super(
      `migration flags 0x${flags.toString(16)} lack STOP_COPY, which every migratable device must support ` +
        '(the kernel refuses such a device)',
    );
    this.flags = flags;
  }
}

// ---- state machine ---------------------------------------------------------------------------------------------

export type RejectionReason =
  | 'error-target'
  | 'error-source'
  | 'unsupported-target'
  | 'unsupported-source'
  | 'blocked';

/** The kernel would answer EINVAL (or, for blocked requests on old kernels, never answer): refused up front. */
export class TransitionRejectedError extends VfioMigrateError {
  override readonly code = 'VFM_TRANSITION_REJECTED';
  override name = 'TransitionRejectedError';
  readonly from: string;
  readonly to: string;
  readonly reason: RejectionReason;
  constructor(from: string, to: string, reason: RejectionReason, detail: string) {
    super(`${from} -> ${to} is refused: ${detail}`);
    this.from = from;
    this.to = to;
    this.reason = reason;
  }
}

/** A single arc of a (combination) transition failed; `state` is where the device is now. */
export class ArcFailedError extends VfioMigrateError {
  override readonly code = 'VFM_ARC_FAILED';
  override name = 'ArcFailedError';
  /** The requested end of the whole transition. */
  readonly target: string;
  readonly arcFrom: string;
  readonly arcTo: string;
  /** The state the device reported after the failure (may be the arc's source, a later state, or ERROR). */
  readonly state: string;
  /** Arcs completed before the failing one. */
  readonly completed: readonly string[];
  constructor(
    info: { target: string; arcFrom: string; arcTo: string; state: string; completed: readonly string[] },
    options?: ErrorOptions,
  ) {
    super(
      `arc ${info.arcFrom} -> ${info.arcTo} failed on the way to ${info.target}; the device is now in ${info.state}` +
        (options?.cause instanceof Error ? `: ${options.cause.message}` : ''),
      options,
    );
    this.target = info.target;
    this.arcFrom = info.arcFrom;
    this.arcTo = info.arcTo;
    this.state = info.state;
    this.completed = info.completed;
  }
}

// ---- runtime ---------------------------------------------------------------------------------------------------

export class AbortedError extends VfioMigrateError {
  override readonly code = 'VFM_ABORTED';
  override name = 'AbortedError';
  constructor(message = 'the operation was aborted', options?: ErrorOptions) {
    super(message, options);
  }
}

export class CoreLoadError extends VfioMigrateError {
  override readonly code = 'VFM_CORE_LOAD';
  override name = 'CoreLoadError';
}

/** Throws AbortedError (with the signal's reason as cause) when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
}

// ---- devices ---------------------------------------------------------------------------------------------------

/** The device is in ERROR: nothing but a reset (VFIO_DEVICE_RESET) is allowed. */
export class DeviceInErrorError extends VfioMigrateError {
  override readonly code = 'VFM_DEVICE_IN_ERROR';
  override name = 'DeviceInErrorError';
  readonly device: string;
  constructor(device: string, options?: ErrorOptions) {
    super(`device ${device} is in ERROR; only a reset recovers it (vfio-migrate reset --device ${device})`, options);
    this.device = device;
  }
}

/** VFIO_MIG_GET_PRECOPY_INFO outside PRE_COPY/PRE_COPY_P2P, or without an open saving session (the kernel's EINVAL). */
export class PrecopyInfoUnavailableError extends VfioMigrateError {
  override readonly code = 'VFM_PRECOPY_INFO_UNAVAILABLE';
  override name = 'PrecopyInfoUnavailableError';
}

/** A data session was used after the device left its state group, or after close(). */
export class SessionClosedError extends VfioMigrateError {
  override readonly code = 'VFM_SESSION_CLOSED';
  override name = 'SessionClosedError';
}

/** A `--device` spec that names no known kind of device or has bad parameters. */
export class DeviceSpecError extends VfioMigrateError {
  override readonly code = 'VFM_DEVICE_SPEC';
  override name = 'DeviceSpecError';
}

/** The device reports migration flags without STOP_COPY, or no migration support at all. */
export class MigrationUnsupportedError extends VfioMigrateError {
  override readonly code = 'VFM_MIGRATION_UNSUPPORTED';
  override name = 'MigrationUnsupportedError';
}
