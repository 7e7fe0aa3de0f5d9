// Messages between a simulated device's host-side backend and the worker thread that is the device. Control goes over
// the message port; migration data never does: it moves through a UNIX socket, a real fd pair.
import type { DeviceState } from '../../fsm/index.ts';
import type { SessionKeys } from './data-session-handshake.ts';
import type { SimConfig } from './sim-spec.ts';

export interface SimWorkerData {
  config: SimConfig;
  /** Where the device listens for the host to connect a data session: a file path, or an abstract name (NUL first). */
  socketPath: string;
}

export type SimRequest =
  | { op: 'state' }
  | { op: 'arc'; from: DeviceState; to: DeviceState; written: number }
  | { op: 'precopy-info'; read: number }
  | { op: 'stop-copy-size'; read: number }
  | { op: 'reset' }
  | { op: 'digest' }
  | { op: 'advance'; ms: number }
  | { op: 'stats' };

export interface SimStats {
  state: DeviceState;
  /** Bytes the current (or last) saving session's producer has written into its fd. */
  produced: number;
  /** Bytes the current (or last) resuming session's consumer has taken from its fd. */
  consumed: number;
  pagesDirtied: number;
  /** Memory the device thread uses (its heap), for boundedness checks. */
  heapUsed: number;
}

export interface SerializedError {
  code: string;
  name: string;
  message: string;
  fields: Record<string, unknown>;
}

export type SimReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

/** Asynchronous news from the device about a session. */
export type SimEvent =
  | { ev: 'ready' }
  /** The saving session has nothing more to send right now; everything up to `offset` is in the fd. */
  | { ev: 'idle'; session: number; offset: number }
  /** New data is being produced after an idle report. */
  | { ev: 'busy'; session: number }
  /** The saving session failed (read() gets `errno`) once the reader has consumed `offset` bytes. */
  | { ev: 'session-failed'; session: number; offset: number; errno: string }
  /** The device is about to die (die-at). */
  | { ev: 'dying'; detail: string };

/** An opened session comes with the keys its data socket's two ends prove themselves with. */
export type SimSessionOpened = { session: 'saving' | 'resuming'; id: number; keys: SessionKeys } | { session: null };
