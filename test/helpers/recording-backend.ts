// A recording fake DeviceBackend for unit tests: in memory, instant, and it records every arc it is asked for
// (optionally into a log shared by several devices, to assert a global order). It refuses anything that is not a
// single arc of its flag set from its current state, so it also checks whoever drives it.

import type {
  DataSession,
  DeviceBackend,
  OperationOptions,
  PrecopyInfo,
  ResumingSession,
  SavingSession,
} from '../../src/device/types.ts';
import { READ_DRAINED, READ_END } from '../../src/device/types.ts';
import { SessionClosedError } from '../../src/errors.ts';
import {
  DeviceState,
  isPreCopyState,
  isSingleArc,
  MigrationFlag,
  type StateName,
  stateName,
} from '../../src/fsm/index.ts';

export interface RecordedArc {
  device: string;
  from: StateName;
  to: StateName;
}

export interface RecordingBackendOptions {
  id?: string;
  flags?: number;
  state?: DeviceState;
  /** Shared by several backends to record one global order. */
  log?: RecordedArc[];
  /** `FROM>TO`: this arc fails; the device is then in `failState` (default: the arc's source state). */
  failArc?: string;
  failState?: DeviceState;
  /** What saving sessions serve (the same bytes for every session). */
  savingData?: Uint8Array;
  /** Resolve each arc after this many milliseconds (to let concurrent arcs interleave). */
  arcDelayMs?: number;
}

export class RecordingBackend implements DeviceBackend {
  readonly id: string;
  readonly kind = 'fake' as const;
  flags: number;
  state: DeviceState;
  readonly arcs: RecordedArc[] = [];
  readonly log: RecordedArc[] | undefined;
  readonly sessions: (MemorySavingSession | MemoryResumingSession)[] = [];
  failArc: string | undefined;
  failState: DeviceState | undefined;
  readonly savingData: Uint8Array;
  readonly arcDelayMs: number;
  resets = 0;
  closed = false;

  constructor(opts: RecordingBackendOptions = {}) {
    this.id = opts.id ?? 'fake:0';
    this.flags = opts.flags ?? MigrationFlag.STOP_COPY | MigrationFlag.P2P | MigrationFlag.PRE_COPY;
    this.state = opts.state ?? DeviceState.RUNNING;
    this.log = opts.log;
    this.failArc = opts.failArc;
    this.failState = opts.failState;
    this.savingData = opts.savingData ?? new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    this.arcDelayMs = opts.arcDelayMs ?? 0;
  }

  async readFlags(): Promise<number> {
    return this.flags;
  }

  async readState(): Promise<DeviceState> {
    return this.state;
  }

  async applyArc(from: DeviceState, to: DeviceState): Promise<DataSession | null> {
    if (from !== this.state)
      throw new Error(`fake ${this.id}: asked ${stateName(from)} -> ${stateName(to)} in ${stateName(this.state)}`);
    if (!isSingleArc(this.flags, from, to)) {
      throw new Error(
        `fake ${this.id}: ${stateName(from)} -> ${stateName(to)} is not a single arc of flags ${this.flags}`,
      );
    }
    if (this.arcDelayMs > 0) await new Promise((r) => setTimeout(r, this.arcDelayMs));
    const name = `${stateName(from)}>${stateName(to)}`;
    if (this.failArc === name) {
      this.state = this.failState ?? from;
      throw new Error(`fake ${this.id}: injected failure of ${name}`);
    }
    const rec = { device: this.id, from: stateName(from), to: stateName(to) };
    this.arcs.push(rec);
    this.log?.push(rec);
    this.state = to;
    const savingBefore = from === DeviceState.STOP_COPY || isPreCopyState(from);
    const savingAfter = to === DeviceState.STOP_COPY || isPreCopyState(to);
    if (!savingBefore && savingAfter) {
      const s = new MemorySavingSession(this);
      this.sessions.push(s);
      return s;
    }
    if (from === DeviceState.STOP && to === DeviceState.RESUMING) {
      const s = new MemoryResumingSession();
      this.sessions.push(s);
      return s;
    }
    return null;
  }

  async precopyInfo(session: SavingSession): Promise<PrecopyInfo> {
    const left = BigInt(this.savingData.length - Math.min(session.bytesRead, this.savingData.length));
    return { initialBytes: left, dirtyBytes: 0n, reinit: false };
  }

  async stopCopySize(): Promise<bigint> {
    return BigInt(this.savingData.length);
  }

  async reset(): Promise<void> {
    this.resets++;
    this.state = DeviceState.RUNNING;
  }

  async stateDigest(): Promise<string> {
    return `fake-digest:${this.id}`;
  }

  describe(): Record<string, unknown> {
    return { kind: 'fake', id: this.id, flags: this.flags };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export class MemorySavingSession implements SavingSession {
  readonly kind = 'saving' as const;
  closed = false;
  bytesRead = 0;
  readonly #backend: RecordingBackend;

  constructor(backend: RecordingBackend) {
    this.#backend = backend;
  }

  async read(into: Uint8Array, _opts?: OperationOptions): Promise<number> {
    if (this.closed) throw new SessionClosedError('fake saving session is closed');
    const data = this.#backend.savingData;
    if (this.bytesRead >= data.length) return isPreCopyState(this.#backend.state) ? READ_DRAINED : READ_END;
    const n = Math.min(into.length, data.length - this.bytesRead);
    into.set(data.subarray(this.bytesRead, this.bytesRead + n));
    this.bytesRead += n;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export class MemoryResumingSession implements ResumingSession {
  readonly kind = 'resuming' as const;
  closed = false;
  bytesWritten = 0;
  readonly chunks: Uint8Array[] = [];

  async write(data: Uint8Array, _opts?: OperationOptions): Promise<void> {
    if (this.closed) throw new SessionClosedError('fake resuming session is closed');
    this.chunks.push(data.slice());
    this.bytesWritten += data.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
