// Several devices of one VM migrated as a set. Devices that can reach each other by peer-to-peer DMA must never see a
// peer stopped while they may still initiate P2P to it, so a set transition runs in three phases (barriers between):
//
//   1. p2p      every P2P-capable device to its P2P-quiesced state: RUNNING_P2P / PRE_COPY_P2P (it still answers
//               P2P but starts none) — on the way down from RUNNING/PRE_COPY, or on the way up from a stopped state
//   2. no-p2p   devices without the P2P flag to their target. The kernel merges RUNNING_P2P into RUNNING for them,
//               so they cannot quiesce: they stop only once every P2P peer is quiesced, and start only once every
//               P2P peer is running again (and so can answer them)
//   3. final    every P2P-capable device to the target
//
// Stopping therefore has all P2P devices in RUNNING_P2P (or PRE_COPY_P2P) before any device reaches STOP, and
// resuming has all of them in RUNNING_P2P before any leaves it. Two devices without P2P cannot be ordered safely
// against each other; the kernel offers nothing for that case either (QEMU refuses to migrate such a set).
import { DeviceInErrorError, DeviceSetTransitionError, throwIfAborted, UsageError } from '../errors.ts';
import { DeviceState, MigrationFlag, parseState, requirePath, type StateName, stateName } from '../fsm/index.ts';
import type { MigrationDevice, TransitionResult } from './migration-device.ts';
import { type OpenDeviceOptions, openDevice } from './open-device.ts';
import type { OperationOptions } from './types.ts';

export type SetPhase = 'p2p' | 'no-p2p' | 'final';

export interface SetMove {
  /** Index of the device in the set. */
  index: number;
  device: string;
  from: StateName;
  to: StateName;
}

export interface SetPhasePlan {
  phase: SetPhase;
  moves: SetMove[];
}

/** One single arc a member took, in the order the set ran its phases. */
export interface SetArcRecord {
  index: number;
  device: string;
  phase: SetPhase;
  from: StateName;
  to: StateName;
}

export interface SetTransitionOptions extends OperationOptions {
  /**
   * Awaited before each phase starts (after the previous one completed on every member): a VMM pauses its vCPUs
   * before the first phase that stops a device, once every P2P device is quiesced. Throw to stop the transition
   * there (nothing of that phase is done).
   */
  beforePhase?: ((phase: SetPhase, moves: readonly SetMove[]) => void | Promise<void>) | undefined;
}

export interface SetTransitionResult {
  target: StateName;
  /** Where each member ended (its own target: P2P states merged into their plain ones for devices without P2P). */
  states: StateName[];
  phases: SetPhasePlan[];
  arcs: SetArcRecord[];
  /** Per member, every session its arcs opened (a saving or resuming session), last one wins. */
  results: (TransitionResult | null)[];
}

const { RUNNING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = DeviceState;

const hasP2P = (d: MigrationDevice) => (d.flags & MigrationFlag.P2P) !== 0;
/** May start P2P DMA. */
const initiating = (s: DeviceState) => s === RUNNING || s === PRE_COPY;
/** Runs, so it can answer P2P DMA. */
const responsive = (s: DeviceState) => initiating(s) || s === RUNNING_P2P || s === PRE_COPY_P2P;
const quiesced = (s: DeviceState): DeviceState => (s === PRE_COPY ? PRE_COPY_P2P : s === RUNNING ? RUNNING_P2P : s);
/** What a P2P state means for a device without P2P (the kernel's merge of RUNNING_P2P into RUNNING). */
const mergeP2P = (s: DeviceState): DeviceState => (s === RUNNING_P2P ? RUNNING : s === PRE_COPY_P2P ? PRE_COPY : s);

/**
 * Several devices that migrate together, ordered as the protocol requires for peer-to-peer DMA: every P2P-capable
 * device reaches RUNNING_P2P (or PRE_COPY_P2P) before any device stops, and on resume all leave RUNNING_P2P only
 * once all are there; devices without P2P are stopped after their peers are quiesced and started once their peers
 * can answer. A failed phase throws `DeviceSetTransitionError` with where every member is.
 */
export class DeviceSet {
  readonly devices: readonly MigrationDevice[];

  constructor(devices: readonly MigrationDevice[]) {
    if (devices.length === 0) throw new UsageError('a device set needs at least one device');
    this.devices = devices;
  }

  /** Opens every spec as a device (closing those already opened if one fails). */
  static async open(specs: readonly string[], opts: OpenDeviceOptions = {}): Promise<DeviceSet> {
    const opened: MigrationDevice[] = [];
    try {
      for (const spec of specs) opened.push(await openDevice(spec, opts));
    } catch (err) {
      await Promise.allSettled(opened.map((d) => d.close()));
      throw err;
    }
    return new DeviceSet(opened);
  }

  get states(): StateName[] {
    return this.devices.map((d) => stateName(d.state));
  }

  /** The target each member actually gets for `target`. */
  memberTarget(index: number, target: DeviceState): DeviceState {
    const d = this.devices[index]!;
    return hasP2P(d) ? target : mergeP2P(target);
  }

  /**
   * The phases `setState(target)` will run from the members' current states. Throws, touching nothing, when a member
   * is in ERROR or the kernel would refuse a member's transition.
   */
  plan(target: DeviceState | string): SetPhasePlan[] {
    const t = typeof target === 'string' ? parseState(target) : target;
    const move = (index: number, from: DeviceState, to: DeviceState): SetMove => ({
      index,
      device: this.devices[index]!.id,
      from: stateName(from),
      to: stateName(to),
    });
    const p2p: SetMove[] = [];
    const noP2P: SetMove[] = [];
    const final: SetMove[] = [];
    this.devices.forEach((d, i) => {
      if (d.state === DeviceState.ERROR) throw new DeviceInErrorError(d.id);
      const own = this.memberTarget(i, t);
      requirePath(d.flags, d.state, own);
      if (!hasP2P(d)) {
        if (d.state !== own) noP2P.push(move(i, d.state, own));
        return;
      }
      let mid: DeviceState = d.state;
      if (responsive(t) && !responsive(d.state)) mid = RUNNING_P2P;
      else if (initiating(d.state) && !initiating(t)) mid = quiesced(d.state);
      if (mid !== d.state) {
        requirePath(d.flags, d.state, mid);
        requirePath(d.flags, mid, own);
        p2p.push(move(i, d.state, mid));
      }
      if (mid !== own) final.push(move(i, mid, own));
    });
    return [
      { phase: 'p2p' as const, moves: p2p },
      { phase: 'no-p2p' as const, moves: noP2P },
      { phase: 'final' as const, moves: final },
    ].filter((p) => p.moves.length > 0);
  }

  /**
   * Moves every member to `target` in the P2P-safe order. Members of one phase move concurrently; a phase starts
   * only when the previous one has completed on every member. On a failure the phase's other members still finish
   * their own move, then DeviceSetTransitionError reports where each member is; nothing is unwound.
   */
  async setState(target: DeviceState | string, opts?: SetTransitionOptions): Promise<SetTransitionResult> {
    const t = typeof target === 'string' ? parseState(target) : target;
    const phases = this.plan(t);
    const arcs: SetArcRecord[] = [];
    const results: (TransitionResult | null)[] = this.devices.map(() => null);
    for (const { phase, moves } of phases) {
      throwIfAborted(opts?.signal);
      await opts?.beforePhase?.(phase, moves);
      throwIfAborted(opts?.signal);
      const settled = await Promise.allSettled(
        moves.map((m) => this.devices[m.index]!.setState(parseState(m.to), { signal: opts?.signal })),
      );
      const failures: { device: string; code: string; message: string }[] = [];
      let firstError: unknown;
      settled.forEach((s, k) => {
        const m = moves[k]!;
        if (s.status === 'fulfilled') {
          let from = m.from;
          for (const st of s.value.path) {
            arcs.push({ index: m.index, device: m.device, phase, from, to: stateName(st) });
            from = stateName(st);
          }
          const prev = results[m.index];
          results[m.index] = { ...s.value, opened: s.value.opened ?? prev?.opened ?? null };
        } else {
          firstError ??= s.reason;
          const e = s.reason as { code?: string; message?: string };
          failures.push({ device: m.device, code: e.code ?? 'VFM_INTERNAL', message: e.message ?? String(s.reason) });
        }
      });
      if (failures.length > 0) {
        const states: Record<string, string> = {};
        for (const d of this.devices) states[d.id] = stateName(d.state);
        throw new DeviceSetTransitionError({ target: stateName(t), phase, failures, states }, { cause: firstError });
      }
    }
    return { target: stateName(t), states: this.states, phases, arcs, results };
  }

  /** Every member's state digest (undefined where a backend has none). */
  async stateDigests(opts?: OperationOptions): Promise<(string | undefined)[]> {
    return Promise.all(this.devices.map((d) => d.stateDigest(opts)));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.devices.map((d) => d.close()));
  }
}

/** The devices of a set, or the list itself. */
export function devicesOf(devices: DeviceSet | readonly MigrationDevice[]): readonly MigrationDevice[] {
  return devices instanceof DeviceSet ? devices.devices : devices;
}

/** Threads of this process the devices keep busy while their data moves (simulated devices' own threads). */
export function hostThreadsOf(devices: readonly MigrationDevice[]): number {
  return devices.reduce((n, d) => n + (d.backend.hostThreads ?? 0), 0);
}
