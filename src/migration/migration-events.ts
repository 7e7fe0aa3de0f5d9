// What a migration tells those who watch it: DOM-style events on the migration object (an EventTarget, so Node,
// Deno and browsers' tooling all understand it), and the same events on node:diagnostics_channel, so a VMM frontend
// can trace every migration of the process without wrapping the API (as undici publishes its requests).
import diagnostics from 'node:diagnostics_channel';
import type { ConvergenceReason, DowntimePrediction } from './convergence-policy.ts';

export type MigrationSide = 'source' | 'destination';

export type MigrationPhase =
  | 'handshake'
  | 'setup'
  | 'precopy'
  | 'switchover'
  | 'quiesce'
  | 'stop'
  | 'final-transfer'
  | 'destination-finish'
  | 'destination-start'
  | 'final-ack'
  | 'cleanup'
  | 'rollback'
  | 'done';

export interface MigrationEventMap {
  /** The listener is bound (destination). */
  listening: { address: string };
  /** A connection was turned away (destination): not a migration peer, another migration, failed TLS. */
  refused: { peer: string; reason: string };
  /** A phase started. */
  phase: { phase: MigrationPhase; at: number };
  /** A device took one single arc. */
  state: { device: number; id: string; from: string; to: string; at: number; ms: number };
  /** A pre-copy round ended (source). */
  round: {
    round: number;
    bytes: number;
    wireBytes: number;
    ms: number;
    /** Bytes the devices dirtied while the round ran (from their pre-copy info), summed. */
    dirtyBytes: number;
    /** Bytes per second the running devices dirty, measured over the round. */
    dirtyRate: number;
    /** Raw bytes left for STOP_COPY. */
    remainingBytes: number;
    throughput: number;
    prediction: DowntimePrediction;
  };
  /** Periodic progress of the data (every ~250 ms while data moves). */
  progress: {
    phase: MigrationPhase;
    round: number;
    bytes: number;
    wireBytes: number;
    /** Raw bytes per second over the last interval. */
    rate: number;
    dirtyRate: number;
    predictedDowntimeMs: number | null;
  };
  /** Pre-copy converged, or ran out of limits: the switchover may go (manual mode waits for `switchover()`). */
  'switchover-ready': { reason: ConvergenceReason; converged: boolean; prediction: DowntimePrediction | null };
  /** Every P2P device is quiesced; none is stopped yet (a VMM pauses its vCPUs now: see `beforeStop`). */
  quiesced: { states: string[] };
  /** A device's initial pre-copy data is on the destination (switchover acknowledgement). */
  'switchover-ack': { device: number };
  /** Something worth a person's attention that is not a failure. */
  warning: { message: string };
}

export type MigrationEventType = keyof MigrationEventMap;

const channels = new Map<string, diagnostics.Channel>();

/** The diagnostics channel of one event type: `vfio-migrate:migration:<type>` (plus `:done` and `:error`). */
export function migrationChannel(type: string): diagnostics.Channel {
  let ch = channels.get(type);
  if (!ch) {
    ch = diagnostics.channel(`vfio-migrate:migration:${type}`);
    channels.set(type, ch);
  }
  return ch;
}

/** The base of both roles: typed events, published on diagnostics_channel as well. */
export class MigrationEmitter extends EventTarget {
  readonly side: MigrationSide;
  /** Hex migration id once known (the source makes it; the destination learns it in the handshake). */
  migrationId: string | null = null;

  constructor(side: MigrationSide) {
    super();
    this.side = side;
  }

  emit<K extends MigrationEventType>(type: K, detail: MigrationEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
    const ch = migrationChannel(type);
    if (ch.hasSubscribers) ch.publish({ migrationId: this.migrationId, side: this.side, ...detail });
  }

  /** Sugar: `on('round', (detail) => ...)`; returns the function that removes the listener. */
  on<K extends MigrationEventType>(type: K, listener: (detail: MigrationEventMap[K]) => void): () => void {
    const wrapped = (e: Event) => listener((e as CustomEvent<MigrationEventMap[K]>).detail);
    this.addEventListener(type, wrapped);
    return () => this.removeEventListener(type, wrapped);
  }

  /** Publishes the end of the migration on `vfio-migrate:migration:done` or `:error`. */
  protected published(outcome: 'done' | 'error', detail: Record<string, unknown>): void {
    const ch = migrationChannel(outcome);
    if (ch.hasSubscribers) ch.publish({ migrationId: this.migrationId, side: this.side, ...detail });
  }
}
