// What a migration reports: the downtime (measured and predicted, with its breakdown), the convergence decision,
// bytes and rounds per phase, and per device the time it spent in each state.
import type { ArcRecord } from '../device/migration-device.ts';
import { type DeviceState, stateName } from '../fsm/index.ts';
import type { ConvergenceReason } from './convergence-policy.ts';
import type { MigrationSide } from './migration-events.ts';

/** Where the downtime went. In two processes the source measures; the destination reports its own two parts. */
export interface DowntimeBreakdown {
  /** Every P2P device to RUNNING_P2P / PRE_COPY_P2P. */
  quiesceMs: number;
  /** The caller's `beforeStop` hook (a VMM pausing its vCPUs). */
  hookMs: number;
  /** The remaining arcs to STOP_COPY. */
  stopMs: number;
  /** The STOP_COPY data out of the source devices and onto the link (every trailer sent). */
  finalTransferMs: number;
  /** The destination's RESUMING -> STOP (validation) for every device, as it measured it. */
  destinationFinishMs: number;
  /** The destination's resume phases to RUNNING, as it measured it. */
  destinationStartMs: number;
  /** The rest: data still on the wire, the final handshake's round trips (ready, go, started). */
  ackMs: number;
}

export interface PhaseBytes {
  /** Raw device bytes. */
  bytes: number;
  /** Stream bytes. */
  wireBytes: number;
  chunks: number;
  ms: number;
}

export interface RoundReport {
  round: number;
  bytes: number;
  wireBytes: number;
  ms: number;
  /** Bytes the devices dirtied while the round ran. */
  dirtyBytes: number;
  /** Raw bytes left for STOP_COPY after it (the larger of pending pre-copy bytes and MIG_DATA_SIZE). */
  remainingBytes: number;
  throughput: number;
  predictedDowntimeMs: number;
}

export interface MigrationDeviceReport {
  index: number;
  id: string;
  /** Raw bytes moved, and their stream bytes. */
  bytes: number;
  wireBytes: number;
  precopyBytes: number;
  stopCopyBytes: number;
  /** Where the device ended (source: STOP; destination: RUNNING). */
  finalState: string;
  /** This side's state digest (taken stopped), where the device gives one. */
  digest: string | null;
  /** Milliseconds spent in each state during the migration. */
  timeInState: Record<string, number>;
}

export interface MigrationResult {
  ok: true;
  side: MigrationSide;
  migrationId: string;
  /**
   * From the moment the first source device left RUNNING to the last destination device RUNNING. Exact in one
   * process; in two, the source's count up to the final acknowledgement (an upper bound: `downtimeUpperBound`).
   * Null on the destination of two processes (it cannot see when the source stopped).
   */
  downtimeMs: number | null;
  downtimeUpperBound: boolean;
  /** What the convergence policy predicted at the switchover, and its stated error (null without a prediction). */
  predictedDowntimeMs: number | null;
  predictionErrorMs: number | null;
  breakdown: DowntimeBreakdown | null;
  convergence: {
    precopy: boolean;
    converged: boolean;
    reason: ConvergenceReason;
    rounds: number;
    targetMs: number;
  };
  phases: { precopy: PhaseBytes; stopCopy: PhaseBytes };
  rounds: RoundReport[];
  totalMs: number;
  bytes: number;
  wireBytes: number;
  /** wireBytes / bytes. */
  ratio: number;
  /** Raw bytes per second over the whole migration. */
  throughput: number;
  devices: MigrationDeviceReport[];
  /** The other side's digests (the destination's, on the source; the source's are not sent), where given. */
  peerDigests: (string | null)[];
  /** Things a person should know that did not fail the migration. */
  warnings: string[];
}

/** Time in each state of one device, from its arcs. */
export class StateClock {
  readonly #spent = new Map<string, number>();
  #state: string;
  #since: number;

  constructor(state: DeviceState, at = performance.now()) {
    this.#state = stateName(state);
    this.#since = at;
  }

  arc(arc: ArcRecord): void {
    // the arc itself is charged to the state being left: the device has not reached the new one before it ends
    this.#charge(arc.at);
    this.#state = stateName(arc.to);
    this.#since = arc.at;
  }

  /** Milliseconds per state, up to `at`. */
  snapshot(at = performance.now()): Record<string, number> {
    const out = Object.fromEntries(this.#spent);
    out[this.#state] = (out[this.#state] ?? 0) + Math.max(0, at - this.#since);
    for (const k of Object.keys(out)) out[k] = Math.round(out[k]! * 10) / 10;
    return out;
  }

  #charge(until: number): void {
    this.#spent.set(this.#state, (this.#spent.get(this.#state) ?? 0) + Math.max(0, until - this.#since));
    this.#since = until;
  }
}

export const emptyPhase = (): PhaseBytes => ({ bytes: 0, wireBytes: 0, chunks: 0, ms: 0 });
