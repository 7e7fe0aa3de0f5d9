// The device interface every layer above uses, for real (VFIO) and simulated devices alike.
import type { DeviceState } from '../fsm/index.ts';

export interface OperationOptions {
  signal?: AbortSignal | undefined;
}

/** VFIO_MIG_GET_PRECOPY_INFO. */
export interface PrecopyInfo {
  /** Unread initial bytes; falls to zero as they are read. */
  initialBytes: bigint;
  /** Bytes the running device changed after they were sent. */
  dirtyBytes: bigint;
  /** New initial data appeared (VFIO_PRECOPY_INFO_REINIT, recent kernels; false where the kernel has no flag). */
  reinit: boolean;
}

/** `read()` result: the permanent end of the saving data (STOP_COPY drained: `read()` returned 0). */
export const READ_END = 0;
/** `read()` result: nothing to read right now (pre-copy drained: ENOMSG, or a driver's 0 while in PRE_COPY). */
export const READ_DRAINED = -1;

/** The readable end of a saving data session (PRE_COPY, PRE_COPY_P2P and STOP_COPY share one). */
export interface SavingSession {
  readonly kind: 'saving';
  readonly closed: boolean;
  /** Bytes read so far. */
  readonly bytesRead: number;
  /**
   * Reads up to `into.length` bytes into `into`. Returns the count (> 0), READ_END, or READ_DRAINED. Never blocks the
   * event loop; a slow caller slows the device down (nothing is buffered beyond `into`).
   */
  read(into: Uint8Array, opts?: OperationOptions): Promise<number>;
  close(): Promise<void>;
}

/** The writable end of a resuming data session (STOP to RESUMING opens it). */
export interface ResumingSession {
  readonly kind: 'resuming';
  readonly closed: boolean;
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
  /** Writes all of `data`, continuing short writes; resolves once the device has taken every byte. */
  write(data: Uint8Array, opts?: OperationOptions): Promise<void>;
  close(): Promise<void>;
}

export type DataSession = SavingSession | ResumingSession;

/**
 * What a device implementation supplies: discovery, and exactly one single arc at a time. Combination transitions,
 * session bookkeeping and refusals live in MigrationDevice, the same for every backend.
 */
export interface DeviceBackend {
  /** Spec that reopens this device, e.g. `sim:nic,seed=7` or `vfio:/dev/vfio/devices/vfio0`. */
  readonly id: string;
  readonly kind: 'sim' | 'vfio' | 'fake';
  /**
   * Threads of this process the device keeps busy while its data moves (a simulated device's own thread; a real
   * device's work is the kernel's, inside the caller's read and write calls). Absent: none.
   */
  readonly hostThreads?: number;
  /** VFIO_DEVICE_FEATURE_MIGRATION: the migration flags. */
  readFlags(opts?: OperationOptions): Promise<number>;
  /** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE (GET). */
  readState(opts?: OperationOptions): Promise<DeviceState>;
  /**
   * VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE (SET) for one single arc. Resolves with the session when the arc opens one
   * (into the saving group, or STOP to RESUMING), else null. Rejects when the device refuses the arc.
   */
  applyArc(from: DeviceState, to: DeviceState, opts?: OperationOptions): Promise<DataSession | null>;
  /** VFIO_MIG_GET_PRECOPY_INFO on the saving session (called only in PRE_COPY or PRE_COPY_P2P). */
  precopyInfo(session: SavingSession, opts?: OperationOptions): Promise<PrecopyInfo>;
  /** VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: the estimated STOP_COPY length. */
  stopCopySize(opts?: OperationOptions): Promise<bigint>;
  /** VFIO_DEVICE_RESET: the device returns to RUNNING from any state, ERROR included. */
  reset(opts?: OperationOptions): Promise<void>;
  /**
   * The sizes the device reports (MIG_DATA_SIZE in STOP_COPY) are exactly the bytes its data session then holds,
   * not estimates: a save that gets another count did not get the device's whole state. False or absent where the
   * driver gives estimates (the uAPI calls MIG_DATA_SIZE an estimate; mlx5's is an upper bound).
   */
  readonly exactSizes?: boolean;
  /** A digest of the device's internal state, where the device can give one (simulated devices). */
  stateDigest?(opts?: OperationOptions): Promise<string>;
  /** Facts for `devices`/`inspect` output (driver, profile, sizes...). */
  describe(): Record<string, unknown>;
  /** Releases the device (fds, workers). Does not change the device's migration state. */
  close(): Promise<void>;
}
