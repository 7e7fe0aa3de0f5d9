// One class per failure, each with a stable string `code` that callers, the CLI and JSON output rely on.
// Codes never change once released; messages may. Add new classes here, never ad-hoc Error objects.

/**
 * Every code an error of this library can carry, so that callers can `switch (err.code)` exhaustively. `code` is
 * typed {@link ErrorCode}, so a class whose code is missing here does not type-check; test/api/error-codes.test.ts
 * checks the other way round (every code listed has a class).
 */
export const ERROR_CODES = [
  'VFM_ABORTED',
  'VFM_ACCEPT_TIMEOUT',
  'VFM_ARC_FAILED',
  'VFM_CODEC_UNAVAILABLE',
  'VFM_CONNECTION_LOST',
  'VFM_CONNECT_FAILED',
  'VFM_CORE_INPUT_TOO_LARGE',
  'VFM_CORE_LOAD',
  'VFM_DATA_END_UNCONFIRMED',
  'VFM_DATA_SESSION_MISSING',
  'VFM_DEVICE_GONE',
  'VFM_DEVICE_IN_ERROR',
  'VFM_DEVICE_NOT_READY',
  'VFM_DEVICE_RECOVERY',
  'VFM_DEVICE_REJECTED_STREAM',
  'VFM_DEVICE_SET_TRANSITION',
  'VFM_DEVICE_SPEC',
  'VFM_DEVICE_STALLED',
  'VFM_ERR',
  'VFM_FFI_UNAVAILABLE',
  'VFM_FLAGS_NO_STOP_COPY',
  'VFM_HEADER_TIMEOUT',
  'VFM_INTERNAL',
  'VFM_LISTEN_FAILED',
  'VFM_LZ4_CHECKSUM',
  'VFM_LZ4_FRAME',
  'VFM_LZ4_MALFORMED',
  'VFM_LZ4_OUTPUT_TOO_SMALL',
  'VFM_LZ4_TRUNCATED',
  'VFM_MIGRATION_IN_DOUBT',
  'VFM_MIGRATION_REFUSED',
  'VFM_MIGRATION_UNSUPPORTED',
  'VFM_NOT_CONVERGED',
  'VFM_OUTPUT_EXISTS',
  'VFM_PEER_FAILED',
  'VFM_PEER_STALLED',
  'VFM_PIPELINE_CONFIG',
  'VFM_PLAN_SAMPLE',
  'VFM_PRECOPY_INFO_UNAVAILABLE',
  'VFM_PROTOCOL',
  'VFM_PROTOCOL_VERSION',
  'VFM_SESSION_CLOSED',
  'VFM_SIM_INJECTED_FAULT',
  'VFM_STREAM',
  'VFM_STREAM_CORRUPT',
  'VFM_STREAM_DEVICE_MISMATCH',
  'VFM_STREAM_DUPLICATE',
  'VFM_STREAM_FOREIGN',
  'VFM_STREAM_LIMIT',
  'VFM_STREAM_ORDER',
  'VFM_STREAM_TRAILER_MISMATCH',
  'VFM_STREAM_TRAILING_DATA',
  'VFM_STREAM_TRUNCATED',
  'VFM_STREAM_VERSION',
  'VFM_STREAM_WRITER_STATE',
  'VFM_TLS_HANDSHAKE',
  'VFM_TRANSITION_REJECTED',
  'VFM_TRANSPORT_IO',
  'VFM_TRANSPORT_SPEC',
  'VFM_UNKNOWN_FLAG',
  'VFM_UNKNOWN_STATE',
  'VFM_USAGE',
  'VFM_VFIO_DATA_IO',
  'VFM_VFIO_DEVICE_BUSY',
  'VFM_VFIO_DEVICE_NOT_FOUND',
  'VFM_VFIO_INVALID_REQUEST',
  'VFM_VFIO_IOMMU',
  'VFM_VFIO_NOT_BOUND',
  'VFM_VFIO_PERMISSION',
  'VFM_VFIO_SYSCALL',
  'VFM_VFIO_UNAVAILABLE',
  'VFM_WORKER_CRASHED',
] as const;

/** The stable code of a {@link VfioMigrateError}: one of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The base class of every error this library throws. Switch on {@link VfioMigrateError.code} (never on the message,
 * which may change) to tell failures apart; subclasses add the facts that apply (`offset` for stream errors, `state`
 * and `device` for device errors, `errno` for system calls).
 *
 * @example
 * ```ts
 * try {
 *   await loadDevice(await openSource('nic.vfm'), device);
 * } catch (err) {
 *   if (!(err instanceof VfioMigrateError)) throw err; // a bug, not a migration failure
 *   if (err.code === 'VFM_STREAM_CORRUPT') console.error('damaged at', (err as StreamFormatError).offset);
 * }
 * ```
 */
export class VfioMigrateError extends Error {
  /** Stable machine-readable identifier of the failure; never changes once released. */
  readonly code: ErrorCode = 'VFM_ERR';
  override name = 'VfioMigrateError';
  /**
   * Where the device was left once save, load or a migration had handled this failure (RUNNING after a recovery, or
   * RUNNING after a reset): set by the operation that recovered it. A state carried by the error itself (`state`)
   * is where the device was at the moment of failure.
   */
  finalState?: string;
  /**
   * Set on a migration's failure: the phase it failed in, the side that failed first, and where every device of
   * both sides ended once the failure was handled (source devices RUNNING or reset, destination devices reset).
   */
  migration?: MigrationFailureFacts;
}

/** What a failed migration says about itself (see VfioMigrateError.migration). */
export interface MigrationFailureFacts {
  phase: string;
  /** Which side failed first ('source', 'destination'), or 'link' for the connection between them. */
  side: 'source' | 'destination' | 'link';
  /** Where each source device ended (known on the source; reported by the peer otherwise). */
  sourceStates?: string[] | undefined;
  /** Where each destination device ended (known on the destination; reported by the peer otherwise). */
  destinationStates?: string[] | undefined;
}

// ---- usage and input -------------------------------------------------------------------------------------------

export class UsageError extends VfioMigrateError {
  override readonly code: ErrorCode = 'VFM_USAGE';
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

export type RejectionReason = 'error-target' | 'error-source' | 'unsupported-target' | 'unsupported-source' | 'blocked';

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

/** An error that is none of ours reached a public entry point: a bug, reported with its cause (VFM_INTERNAL). */
export class UnexpectedError extends VfioMigrateError {
  override readonly code = 'VFM_INTERNAL';
  override name = 'UnexpectedError';
}

/**
 * `err` as a VfioMigrateError: itself when it is one; a runtime's AbortError as AbortedError; anything else as
 * UnexpectedError. The original is kept as `cause`. Public entry points reject only with these.
 */
export function toVfioMigrateError(err: unknown): VfioMigrateError {
  if (err instanceof VfioMigrateError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.name === 'AbortError') return new AbortedError(e.message || undefined, { cause: e });
  return new UnexpectedError(e.message, { cause: e });
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

/**
 * The device did not hand over the data session its arc opens (the arc into the saving group, or STOP to
 * RESUMING, returned no fd), or the session could not be connected: a driver or simulator fault.
 */
export class DataSessionMissingError extends VfioMigrateError {
  override readonly code = 'VFM_DATA_SESSION_MISSING';
  override name = 'DataSessionMissingError';
}

/**
 * The device is not in a state a save or load can start from (a saving or resuming session of someone else, a
 * process that died mid-migration, or ERROR); nothing was done to it. `recover` brings it back to RUNNING.
 */
export class DeviceNotReadyError extends VfioMigrateError {
  override readonly code = 'VFM_DEVICE_NOT_READY';
  override name = 'DeviceNotReadyError';
  readonly device: string;
  readonly state: string;
  constructor(device: string, state: string, operation: 'save' | 'load') {
    super(
      `cannot ${operation} ${device}: it is in ${state}, left there by an earlier user or a migration that did not ` +
        `finish; nothing was done to it. Bring it back with: vfio-migrate recover --device ${device}`,
    );
    this.device = device;
    this.state = state;
  }
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

// ---- pipeline and transport ------------------------------------------------------------------------------------

/** A transport spec (`-`, PATH, tcp://, unix:, tls://) or its options cannot be used. */
export class TransportSpecError extends VfioMigrateError {
  override readonly code = 'VFM_TRANSPORT_SPEC';
  override name = 'TransportSpecError';
}

/** Connecting to the peer failed (refused, unreachable, or nobody listened before the connect timeout). */
export class ConnectFailedError extends VfioMigrateError {
  override readonly code = 'VFM_CONNECT_FAILED';
  override name = 'ConnectFailedError';
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: ErrorOptions) {
    super(`cannot connect to ${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** Listening failed (address in use, permission), or no peer connected before the accept timeout. */
export class ListenFailedError extends VfioMigrateError {
  override readonly code: ErrorCode = 'VFM_LISTEN_FAILED';
  override name = 'ListenFailedError';
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: ErrorOptions) {
    super(`cannot listen on ${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** The connection broke (reset, closed by the peer mid-stream, or silent past the idle timeout). */
export class ConnectionLostError extends VfioMigrateError {
  override readonly code: ErrorCode = 'VFM_CONNECTION_LOST';
  override name = 'ConnectionLostError';
  readonly endpoint: string;
  /** Bytes moved over this connection before it broke. */
  readonly bytes: number;
  constructor(endpoint: string, bytes: number, message: string, options?: ErrorOptions) {
    super(`connection ${endpoint} lost after ${bytes} bytes: ${message}`, options);
    this.endpoint = endpoint;
    this.bytes = bytes;
  }
}

/**
 * A peer stopped keeping up: nothing moved for the idle limit while this side waited (`limit: 'idle'`), or less than
 * the minimum rate arrived over the rate window (`limit: 'min-rate'`, a peer trickling bytes to hold the other end).
 */
export class PeerStalledError extends ConnectionLostError {
  override readonly code = 'VFM_PEER_STALLED';
  override name = 'PeerStalledError';
  readonly limit: 'idle' | 'min-rate';
  constructor(endpoint: string, bytes: number, limit: 'idle' | 'min-rate', message: string) {
    super(endpoint, bytes, message);
    this.limit = limit;
  }
}

/**
 * The receiver took the stream but its load failed, and it said so in its receipt: `peerCode` is its error code,
 * `peerFinalState` where its device ended.
 */
export class PeerFailedError extends VfioMigrateError {
  override readonly code = 'VFM_PEER_FAILED';
  override name = 'PeerFailedError';
  readonly endpoint: string;
  readonly peerCode: string | undefined;
  readonly peerFinalState: string | undefined;
  constructor(
    endpoint: string,
    info: { code?: string | undefined; message?: string | undefined; finalState?: string | undefined },
    what = 'the receiver',
    did = 'failed to load the stream',
  ) {
    super(
      `${what} at ${endpoint} ${did}: ${info.code ?? 'unknown error'}: ${info.message ?? ''}` +
        (info.finalState ? ` (its device is now ${info.finalState})` : ''),
    );
    this.endpoint = endpoint;
    this.peerCode = info.code;
    this.peerFinalState = info.finalState;
  }
}

/** The stream header did not arrive within the header deadline after the connection opened. */
export class HeaderTimeoutError extends VfioMigrateError {
  override readonly code = 'VFM_HEADER_TIMEOUT';
  override name = 'HeaderTimeoutError';
  readonly endpoint: string;
  readonly timeoutMs: number;
  constructor(endpoint: string, timeoutMs: number, bytes: number) {
    super(`${endpoint}: no complete stream header within ${timeoutMs} ms (${bytes} bytes arrived)`);
    this.endpoint = endpoint;
    this.timeoutMs = timeoutMs;
  }
}

/** A listener's accept deadline passed without an acceptable peer (`refused` says who was turned away, and why). */
export class AcceptTimeoutError extends ListenFailedError {
  override readonly code = 'VFM_ACCEPT_TIMEOUT';
  override name = 'AcceptTimeoutError';
  readonly refused: readonly string[];
  constructor(endpoint: string, timeoutMs: number, refused: readonly string[]) {
    super(
      endpoint,
      `no acceptable peer within ${timeoutMs} ms` +
        (refused.length > 0 ? `; refused ${refused.length}: ${refused.slice(-3).join('; ')}` : ''),
    );
    this.refused = refused;
  }
}

/** The TLS handshake failed: bad or untrusted certificate, wrong name, unknown PSK identity or key. */
export class TlsHandshakeError extends VfioMigrateError {
  override readonly code = 'VFM_TLS_HANDSHAKE';
  override name = 'TlsHandshakeError';
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: ErrorOptions) {
    super(`TLS handshake with ${endpoint} failed: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** A file, pipe or stdio endpoint failed to open, read or write. */
export class TransportIoError extends VfioMigrateError {
  override readonly code: ErrorCode = 'VFM_TRANSPORT_IO';
  override name = 'TransportIoError';
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: ErrorOptions) {
    super(`${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** Pipeline options that cannot work together (a byte budget smaller than one chunk, zero-sized chunks...). */
export class PipelineConfigError extends VfioMigrateError {
  override readonly code = 'VFM_PIPELINE_CONFIG';
  override name = 'PipelineConfigError';
}

/** A codec worker thread died or failed to start; the pipeline stopped every other worker. */
export class WorkerCrashedError extends VfioMigrateError {
  override readonly code = 'VFM_WORKER_CRASHED';
  override name = 'WorkerCrashedError';
  readonly worker: number;
  constructor(worker: number, message: string, options?: ErrorOptions) {
    super(`codec worker ${worker} failed: ${message}`, options);
    this.worker = worker;
  }
}

/** A device's data session made no progress for the idle limit (a wedged device, or a driver that stopped reading). */
export class DeviceStalledError extends VfioMigrateError {
  override readonly code = 'VFM_DEVICE_STALLED';
  override name = 'DeviceStalledError';
  readonly device: string;
  readonly bytes: number;
  constructor(device: string, what: 'read' | 'write', bytes: number, idleMs: number) {
    super(
      `device ${device} ${what === 'read' ? 'produced' : 'took'} no data for ${idleMs} ms ` +
        `(after ${bytes} bytes): the device is stalled`,
    );
    this.device = device;
    this.bytes = bytes;
  }
}

/**
 * The device's data ended, but the device did not confirm it: its state afterwards is not the saving state it
 * should be in (ERROR: it failed or died), or it delivered other than the exact size it announced. Nothing was
 * sealed: no trailer was written and no file was put in place.
 */
export class DataEndUnconfirmedError extends VfioMigrateError {
  override readonly code = 'VFM_DATA_END_UNCONFIRMED';
  override name = 'DataEndUnconfirmedError';
  readonly device: string;
  /** Raw bytes the device delivered. */
  readonly bytes: number;
  constructor(device: string, bytes: number, detail: string, options?: ErrorOptions) {
    super(
      `the migration data of ${device} ended after ${bytes} bytes but ${detail}; the stream was not sealed`,
      options,
    );
    this.device = device;
    this.bytes = bytes;
  }
}

/** The output exists and the save was told not to replace it (`--no-clobber`); nothing was written. */
export class OutputExistsError extends TransportIoError {
  override readonly code = 'VFM_OUTPUT_EXISTS';
  override name = 'OutputExistsError';
}

/** save/load could not bring the device back after a failure; `state` says where it was left. */
export class DeviceRecoveryError extends VfioMigrateError {
  override readonly code = 'VFM_DEVICE_RECOVERY';
  override name = 'DeviceRecoveryError';
  readonly device: string;
  readonly state: string;
  constructor(device: string, state: string, message: string, options?: ErrorOptions) {
    super(`device ${device} was left in ${state}: ${message}`, options);
    this.device = device;
    this.state = state;
  }
}

/** The stream was saved from a different kind of device than the one asked to load it (refused before RESUMING). */
export class StreamDeviceMismatchError extends VfioMigrateError {
  override readonly code = 'VFM_STREAM_DEVICE_MISMATCH';
  override name = 'StreamDeviceMismatchError';
  readonly field: string;
  readonly stream: string;
  readonly device: string;
  constructor(field: string, stream: string, device: string) {
    super(
      `the stream was saved from a device with ${field} ${JSON.stringify(stream)}, but the destination has ` +
        `${JSON.stringify(device)} (the device was not touched)`,
    );
    this.field = field;
    this.stream = stream;
    this.device = device;
  }
}

// ---- wasm core -------------------------------------------------------------------------------------------------

/** One call's input is larger than the core accepts (e.g. an LZ4 block over 4 MiB). */
export class CoreInputTooLargeError extends VfioMigrateError {
  override readonly code = 'VFM_CORE_INPUT_TOO_LARGE';
  override name = 'CoreInputTooLargeError';
  readonly size: number;
  readonly limit: number;
  constructor(what: string, size: number, limit: number) {
    super(`${what} of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** An LZ4 block is malformed: truncated, a match before the start of the window, or an offset of 0. */
export class Lz4MalformedError extends VfioMigrateError {
  override readonly code = 'VFM_LZ4_MALFORMED';
  override name = 'Lz4MalformedError';
}

/** The decoded data does not fit in the output buffer the caller gave (or exceeds the frame's block size). */
export class Lz4OutputTooSmallError extends VfioMigrateError {
  override readonly code = 'VFM_LZ4_OUTPUT_TOO_SMALL';
  override name = 'Lz4OutputTooSmallError';
}

/** An LZ4 frame header or structure is invalid or uses a feature this decoder does not support. */
export class Lz4FrameError extends VfioMigrateError {
  override readonly code = 'VFM_LZ4_FRAME';
  override name = 'Lz4FrameError';
}

/** An LZ4 frame ended before its end mark (or content checksum). */
export class Lz4TruncatedError extends VfioMigrateError {
  override readonly code = 'VFM_LZ4_TRUNCATED';
  override name = 'Lz4TruncatedError';
}

/** An LZ4 frame's header, block or content checksum does not match the data. */
export class Lz4ChecksumError extends VfioMigrateError {
  override readonly code = 'VFM_LZ4_CHECKSUM';
  override name = 'Lz4ChecksumError';
  readonly which: 'header' | 'block' | 'content';
  constructor(which: 'header' | 'block' | 'content', expected: number, actual: number) {
    super(
      `LZ4 ${which} checksum mismatch: expected 0x${expected.toString(16).padStart(8, '0')}, ` +
        `got 0x${actual.toString(16).padStart(8, '0')}`,
    );
    this.which = which;
  }
}

// ---- real VFIO devices -----------------------------------------------------------------------------------------

export interface VfioFailureInfo {
  /** The call that failed, e.g. `VFIO_DEVICE_FEATURE(MIG_DEVICE_STATE SET)`, `open(/dev/iommu)`, `read(data fd)`. */
  operation?: string | undefined;
  /** The errno the kernel returned, when a system call failed. */
  errno?: number | undefined;
  /** Its symbolic name (EINVAL, ENOTTY...). */
  errnoName?: string | undefined;
  /** The device spec or node concerned. */
  device?: string | undefined;
  /** What the user can do about it. */
  advice?: string | undefined;
}

/** A system call on a VFIO node failed in a way no more specific class describes; carries the errno. */
export class VfioSyscallError extends VfioMigrateError {
  override readonly code: ErrorCode = 'VFM_VFIO_SYSCALL';
  override name = 'VfioSyscallError';
  readonly operation: string | undefined;
  readonly errno: number | undefined;
  readonly errnoName: string | undefined;
  readonly device: string | undefined;
  readonly advice: string | undefined;
  constructor(message: string, info: VfioFailureInfo = {}, options?: ErrorOptions) {
    super(info.advice ? `${message}. ${info.advice}` : message, options);
    this.operation = info.operation;
    this.errno = info.errno;
    this.errnoName = info.errnoName;
    this.device = info.device;
    this.advice = info.advice;
  }
}

/** No VFIO on this machine: /dev/vfio or /dev/iommu is missing, the modules are not loaded, or not Linux. */
export class VfioUnavailableError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_UNAVAILABLE';
  override name = 'VfioUnavailableError';
}

/** EPERM/EACCES opening or driving a VFIO node: needs root, a group/ACL on the nodes, or a memlock limit. */
export class VfioPermissionError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_PERMISSION';
  override name = 'VfioPermissionError';
}

/** The path, PCI address or mdev UUID names no device (ENOENT/ENODEV, or nothing in sysfs). */
export class VfioDeviceNotFoundError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_DEVICE_NOT_FOUND';
  override name = 'VfioDeviceNotFoundError';
}

/** The device exists but is bound to a non-VFIO driver, so it has no VFIO node. */
export class VfioDeviceNotBoundError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_NOT_BOUND';
  override name = 'VfioDeviceNotBoundError';
}

/** Another process (usually the VMM) holds the device or its group (EBUSY, or EINVAL from a second cdev bind). */
export class VfioDeviceBusyError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_DEVICE_BUSY';
  override name = 'VfioDeviceBusyError';
}

/** The IOMMU setup does not allow access: group not viable, no usable IOMMU type, iommufd bind/attach refused. */
export class VfioIommuError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_IOMMU';
  override name = 'VfioIommuError';
}

/** The kernel answered EINVAL to a request this tool built: a struct, flag or state the device does not accept. */
export class VfioInvalidRequestError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_INVALID_REQUEST';
  override name = 'VfioInvalidRequestError';
}

/**
 * The device refused the migration data written into its resuming session (EFAULT/ENOMEM/EINVAL on write), or the
 * RESUMING to STOP arc that validates it: a stream from another device type, truncated or corrupt. The device stays
 * in RESUMING; only a reset gets it out.
 */
export class DeviceRejectedStreamError extends VfioSyscallError {
  override readonly code = 'VFM_DEVICE_REJECTED_STREAM';
  override name = 'DeviceRejectedStreamError';
  /** Bytes the device had accepted before it refused. */
  readonly acceptedBytes: number | undefined;
  constructor(message: string, info: VfioFailureInfo & { acceptedBytes?: number }, options?: ErrorOptions) {
    super(message, info, options);
    this.acceptedBytes = info.acceptedBytes;
  }
}

/** read()/write() on a migration data fd failed with an errno that means neither drained nor rejected. */
export class VfioDataIoError extends VfioSyscallError {
  override readonly code = 'VFM_VFIO_DATA_IO';
  override name = 'VfioDataIoError';
}

/** No foreign-function interface for this runtime (Node without the optional `koffi` package, or not Linux). */
export class FfiUnavailableError extends VfioMigrateError {
  override readonly code = 'VFM_FFI_UNAVAILABLE';
  override name = 'FfiUnavailableError';
}

// ---- stream format ---------------------------------------------------------------------------------------------

/**
 * A migration stream failed verification. `offset` is the stream byte offset where the bad frame (or the bad
 * field) starts; nothing from that frame on was passed on as device data.
 */
export class StreamFormatError extends VfioMigrateError {
  override readonly code: ErrorCode = 'VFM_STREAM';
  override name = 'StreamFormatError';
  /** Byte offset in the stream. */
  readonly offset: number;
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(`${message} (stream offset ${offset})`, options);
    this.offset = offset;
  }
}

/** Not a vfio-migrate stream at all (another file type, or a stream of stock zstd/lz4 frames without our header). */
export class ForeignStreamError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_FOREIGN';
  override name = 'ForeignStreamError';
}

/** A stream written by a newer major version of the format, which this reader cannot interpret. */
export class StreamVersionError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_VERSION';
  override name = 'StreamVersionError';
  readonly major: number;
  readonly minor: number;
  constructor(major: number, minor: number, supported: number, offset: number) {
    super(
      `stream format ${major}.${minor} is newer than this reader (major ${supported}); upgrade vfio-migrate`,
      offset,
    );
    this.major = major;
    this.minor = minor;
  }
}

/** A checksum did not match or a frame is malformed: the bytes were altered. */
export class StreamCorruptError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_CORRUPT';
  override name = 'StreamCorruptError';
}

/** The stream ended before its trailer (or inside a frame). */
export class StreamTruncatedError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_TRUNCATED';
  override name = 'StreamTruncatedError';
}

/** Frames are out of order: a chunk or section arrived before one that must precede it (or one is missing). */
export class StreamOrderError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_ORDER';
  override name = 'StreamOrderError';
}

/** A chunk, section or header appears twice. */
export class StreamDuplicateError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_DUPLICATE';
  override name = 'StreamDuplicateError';
}

/** A declared size exceeds the stream's or the reader's limits (a decompression bomb): refused before decoding. */
export class StreamLimitError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_LIMIT';
  override name = 'StreamLimitError';
}

/** The trailer does not close this stream: another stream's id, or totals/digest that disagree with the data. */
export class StreamTrailerMismatchError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_TRAILER_MISMATCH';
  override name = 'StreamTrailerMismatchError';
}

/** Bytes follow the trailer. */
export class StreamTrailingDataError extends StreamFormatError {
  override readonly code = 'VFM_STREAM_TRAILING_DATA';
  override name = 'StreamTrailingDataError';
}

/** The runtime offers no implementation of a codec (no zstd in node:zlib and the zstd-codec fallback failed). */
export class CodecUnavailableError extends VfioMigrateError {
  override readonly code = 'VFM_CODEC_UNAVAILABLE';
  override name = 'CodecUnavailableError';
}

/** The writer side was driven out of order (a chunk with the wrong sequence number or offset): a caller bug. */
export class StreamWriterStateError extends VfioMigrateError {
  override readonly code = 'VFM_STREAM_WRITER_STATE';
  override name = 'StreamWriterStateError';
}

// ---- simulated devices and device sets -------------------------------------------------------------------------

/** A `sim:` device spec with a bad key or value; `key` names it (code VFM_DEVICE_SPEC like every spec error). */
export class SimSpecKeyError extends DeviceSpecError {
  override name = 'SimSpecKeyError';
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

/** A fault injected into a simulated device (`fail-arc=FROM>TO`): the driver refused the arc. */
export class InjectedFaultError extends VfioMigrateError {
  override readonly code = 'VFM_SIM_INJECTED_FAULT';
  override name = 'InjectedFaultError';
  readonly fault: string;
  constructor(fault: string, message: string) {
    super(message);
    this.fault = fault;
  }
}

export type SimRejectReason =
  | 'foreign'
  | 'malformed'
  | 'corrupt'
  | 'truncated'
  | 'incomplete'
  | 'over-long'
  | 'session-failed';

/** A simulated destination refused its resuming data; `reason` says why (same code as a real device's refusal). */
export class SimStreamRejectedError extends DeviceRejectedStreamError {
  override name = 'SimStreamRejectedError';
  readonly reason: SimRejectReason;
  /** Offset in the device's data stream where the problem was found. */
  readonly offset: number;
  constructor(
    reason: SimRejectReason,
    message: string,
    info: { device: string; offset: number; acceptedBytes: number },
  ) {
    super(message, {
      operation: 'RESUMING -> STOP',
      errnoName: 'EINVAL',
      device: info.device,
      acceptedBytes: info.acceptedBytes,
    });
    this.reason = reason;
    this.offset = info.offset;
  }
}

/** The process or thread behind a simulated device went away (`die-at`, or a crash); a reset restarts it. */
export class DeviceGoneError extends VfioMigrateError {
  override readonly code = 'VFM_DEVICE_GONE';
  override name = 'DeviceGoneError';
  readonly device: string;
  constructor(device: string, detail: string, options?: ErrorOptions) {
    super(`device ${device} went away (${detail}); it is in ERROR until reset`, options);
    this.device = device;
  }
}

/** Members of a device set failed a phase of a set transition; `states` says where every member is now. */
export class DeviceSetTransitionError extends VfioMigrateError {
  override readonly code = 'VFM_DEVICE_SET_TRANSITION';
  override name = 'DeviceSetTransitionError';
  readonly target: string;
  readonly phase: string;
  readonly failures: readonly { device: string; code: string; message: string }[];
  readonly states: Readonly<Record<string, string>>;
  constructor(
    info: {
      target: string;
      phase: string;
      failures: readonly { device: string; code: string; message: string }[];
      states: Record<string, string>;
    },
    options?: ErrorOptions,
  ) {
    super(
      `device set transition to ${info.target} failed in phase ${info.phase}: ` +
        info.failures.map((f) => `${f.device}: ${f.message}`).join('; '),
      options,
    );
    this.target = info.target;
    this.phase = info.phase;
    this.failures = info.failures;
    this.states = info.states;
  }
}

// ---- live migration ---------------------------------------------------------------------------------------------

/** The peer is not a vfio-migrate migration peer, or broke the control protocol (a malformed or unexpected message). */
export class MigrationProtocolError extends VfioMigrateError {
  override readonly code = 'VFM_PROTOCOL';
  override name = 'MigrationProtocolError';
  readonly peer: string;
  constructor(peer: string, message: string, options?: ErrorOptions) {
    super(`${peer}: ${message}`, options);
    this.peer = peer;
  }
}

/** The peer speaks another version of the migration protocol; nothing was done on either side. */
export class ProtocolVersionError extends VfioMigrateError {
  override readonly code = 'VFM_PROTOCOL_VERSION';
  override name = 'ProtocolVersionError';
  readonly ours: number;
  readonly theirs: number;
  constructor(ours: number, theirs: number, by: 'source' | 'destination') {
    super(
      `the ${by === 'destination' ? 'source' : 'destination'} speaks migration protocol version ${theirs}, this ` +
        `${by} version ${ours}: upgrade the older side (no device was touched)`,
    );
    this.ours = ours;
    this.theirs = theirs;
  }
}

/**
 * The destination refused the migration in the handshake (other devices, flags it cannot honour, another count):
 * `mismatches` says each reason. Raised on both ends, before any device on either side left RUNNING.
 */
export class MigrationRefusedError extends VfioMigrateError {
  override readonly code = 'VFM_MIGRATION_REFUSED';
  override name = 'MigrationRefusedError';
  readonly mismatches: readonly string[];
  constructor(mismatches: readonly string[], by: 'source' | 'destination') {
    super(
      `the destination ${by === 'destination' ? 'refuses' : 'refused'} the migration: ${mismatches.join('; ')} ` +
        '(no device on either side was touched)',
    );
    this.mismatches = mismatches;
  }
}

/**
 * The pre-copy phase ran out of rounds or time without meeting the downtime target, and the caller asked to abort
 * rather than switch over (`onNoConverge: 'abort'`): every device runs on the source, the destination was reset.
 */
export class NotConvergedError extends VfioMigrateError {
  override readonly code = 'VFM_NOT_CONVERGED';
  override name = 'NotConvergedError';
  readonly predictedDowntimeMs: number;
  readonly rounds: number;
  constructor(info: { rounds: number; predictedDowntimeMs: number; targetMs: number; why: string }) {
    super(
      `pre-copy did not converge (${info.why}, ${info.rounds} rounds): the predicted downtime is ` +
        `${Math.round(info.predictedDowntimeMs)} ms against a target of ${info.targetMs} ms; aborted as asked`,
    );
    this.predictedDowntimeMs = info.predictedDowntimeMs;
    this.rounds = info.rounds;
  }
}

/**
 * The source committed (told the destination to start its devices) but never heard that it did: the destination
 * may be running the devices now. The source leaves its own stopped (STOP) rather than risk two running copies;
 * check the destination, then `recover` the source only if the destination is not running them.
 */
export class MigrationInDoubtError extends VfioMigrateError {
  override readonly code = 'VFM_MIGRATION_IN_DOUBT';
  override name = 'MigrationInDoubtError';
}

// ---- planning ---------------------------------------------------------------------------------------------------

/** The planner could not sample a device's migration data (its data session gave none). */
export class PlanSampleError extends VfioMigrateError {
  override readonly code = 'VFM_PLAN_SAMPLE';
  override name = 'PlanSampleError';
  readonly device: string;
  constructor(device: string, why: string, options?: ErrorOptions) {
    super(`cannot sample ${device}: ${why}`, options);
    this.device = device;
  }
}
