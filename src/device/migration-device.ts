// One device as every layer above sees it: the backend's single arcs composed into the kernel's combination
// transitions, with the data session tracked the way the kernel ties it to the state.
import {
  ArcFailedError,
  DataSessionMissingError,
  DeviceInErrorError,
  MigrationUnsupportedError,
  PrecopyInfoUnavailableError,
  VfioMigrateError,
} from '../errors.ts';
import {
  arcSessionEffect,
  DeviceState,
  isPreCopyState,
  isSavingState,
  parseState,
  stateName,
  stepTransition,
  validateFlags,
} from '../fsm/index.ts';
import type {
  DataSession,
  DeviceBackend,
  OperationOptions,
  PrecopyInfo,
  ResumingSession,
  SavingSession,
} from './types.ts';

export interface TransitionResult {
  /** The state reached (the requested one). */
  state: DeviceState;
  /** States stepped through after the starting one (empty when already there). */
  path: DeviceState[];
  /** The session an arc of this transition opened, if any. */
  opened: DataSession | null;
}

/**
 * A device, real or simulated, as the migration protocol sees it: its migration flags, its state, combination
 * transitions stepped one arc at a time as the kernel does (`setState`), and the data session each state opens
 * (`savingSession` in STOP_COPY and PRE_COPY*, `resumingSession` in RESUMING). Get one with {@link openDevice} (or
 * `MigrationDevice.open` over your own `DeviceBackend`); close it when done (the device keeps its state).
 */
/** One single arc a device took, as its observers see it. */
export interface ArcRecord {
  device: string;
  from: DeviceState;
  to: DeviceState;
  /** performance.now() when the arc completed. */
  at: number;
  /** How long the arc took, in ms. */
  ms: number;
}

export class MigrationDevice {
  readonly backend: DeviceBackend;
  readonly flags: number;
  #state: DeviceState;
  #session: DataSession | null = null;
  readonly #observers = new Set<(arc: ArcRecord) => void>();

  private constructor(backend: DeviceBackend, flags: number, state: DeviceState) {
    this.backend = backend;
    this.flags = flags;
    this.#state = state;
  }

  /** Wraps a backend: reads and validates its migration flags and its current state. */
  static async open(backend: DeviceBackend, opts?: OperationOptions): Promise<MigrationDevice> {
    let flags: number;
    try {
      flags = validateFlags(await backend.readFlags(opts));
    } catch (cause) {
      if (cause instanceof VfioMigrateError && !(cause instanceof MigrationUnsupportedError)) {
        throw new MigrationUnsupportedError(`device ${backend.id} cannot migrate: ${cause.message}`, { cause });
      }
      throw cause;
    }
    const state = await backend.readState(opts);
    return new MigrationDevice(backend, flags, state);
  }

  get id(): string {
    return this.backend.id;
  }

  /** The last state known (read at open, then tracked across transitions). */
  get state(): DeviceState {
    return this.#state;
  }

  /** The data session open now, if any. */
  get session(): DataSession | null {
    return this.#session;
  }

  /**
   * Calls `listener` after every single arc this device completes (in order, across all its transitions); returns
   * the function that stops it. A migration builds its arc log, state timings and events from this.
   */
  observeArcs(listener: (arc: ArcRecord) => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  /** Reads the state from the device (it may have been changed by someone else). */
  async refreshState(opts?: OperationOptions): Promise<DeviceState> {
    this.#state = await this.backend.readState(opts);
    await this.#dropSessionIfLeft();
    return this.#state;
  }

  /**
   * Requests `target` (a state or its name). Steps the kernel's arcs one at a time; refuses before touching the
   * device what the kernel would refuse. On a failed arc, rejects with ArcFailedError and `state` reflects where the
   * device now is.
   */
  async setState(target: DeviceState | string, opts?: OperationOptions): Promise<TransitionResult> {
    const to = typeof target === 'string' ? parseState(target) : target;
    if (this.#state === DeviceState.ERROR) throw new DeviceInErrorError(this.id);
    const from = this.#state;
    let opened: DataSession | null = null;
    try {
      const steps = await stepTransition({
        flags: this.flags,
        from,
        to,
        signal: opts?.signal,
        readState: () => this.backend.readState(),
        arc: async (a, b, signal) => {
          const started = performance.now();
          const session = await this.backend.applyArc(a, b, { signal });
          this.#state = b;
          const at = performance.now();
          for (const observe of this.#observers) observe({ device: this.id, from: a, to: b, at, ms: at - started });
          const effect = arcSessionEffect(a, b);
          if (effect.closes) await this.#closeSession();
          if (effect.opens) {
            if (!session)
              throw new DataSessionMissingError(
                `${this.id} opened no data session on ${stateName(a)} -> ${stateName(b)}`,
              );
            this.#session = session;
            opened = session;
          } else if (session) {
            await session.close();
          }
          return b;
        },
      });
      return { state: this.#state, path: steps.map((s) => s.to), opened };
    } catch (err) {
      if (err instanceof ArcFailedError) {
        this.#state = parseState(err.state);
        await this.#dropSessionIfLeft();
      }
      throw err;
    }
  }

  /** The saving session, when one is open. */
  get savingSession(): SavingSession | null {
    return this.#session?.kind === 'saving' ? this.#session : null;
  }

  /** The resuming session, when one is open. */
  get resumingSession(): ResumingSession | null {
    return this.#session?.kind === 'resuming' ? this.#session : null;
  }

  /** VFIO_MIG_GET_PRECOPY_INFO: valid only in PRE_COPY or PRE_COPY_P2P with the saving session open. */
  async precopyInfo(opts?: OperationOptions): Promise<PrecopyInfo> {
    const session = this.savingSession;
    if (!isPreCopyState(this.#state) || !session) {
      throw new PrecopyInfoUnavailableError(
        `pre-copy info needs PRE_COPY or PRE_COPY_P2P with its data session open; ${this.id} is in ${stateName(this.#state)}`,
      );
    }
    return this.backend.precopyInfo(session, opts);
  }

  /** The device's reported sizes are exact, not estimates (see DeviceBackend.exactSizes). */
  get exactSizes(): boolean {
    return this.backend.exactSizes === true;
  }

  /** VFIO_DEVICE_FEATURE_MIG_DATA_SIZE. */
  stopCopySize(opts?: OperationOptions): Promise<bigint> {
    return this.backend.stopCopySize(opts);
  }

  /** VFIO_DEVICE_RESET: closes any session; the device is RUNNING afterwards. */
  async reset(opts?: OperationOptions): Promise<void> {
    await this.#closeSession();
    await this.backend.reset(opts);
    this.#state = await this.backend.readState(opts);
  }

  /** The device's state digest, where the backend can give one. */
  async stateDigest(opts?: OperationOptions): Promise<string | undefined> {
    return this.backend.stateDigest?.(opts);
  }

  /** Closes the session handle and releases the backend; the device keeps its migration state. */
  async close(): Promise<void> {
    await this.#closeSession();
    await this.backend.close();
  }

  async #closeSession(): Promise<void> {
    const session = this.#session;
    this.#session = null;
    if (session && !session.closed) await session.close();
  }

  async #dropSessionIfLeft(): Promise<void> {
    const s = this.#session;
    if (!s) return;
    const stillValid = s.kind === 'saving' ? isSavingState(this.#state) : this.#state === DeviceState.RESUMING;
    if (!stillValid) await this.#closeSession();
  }
}
