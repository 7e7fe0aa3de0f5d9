// The kernel's next-step rule for combination transitions (vfio_mig_get_next_state in drivers/vfio/vfio_main.c):
// a static table gives, for each (current, requested) pair, the next state to step to assuming every optional state
// exists; states the device does not support are then skipped by looking the table up again from the skipped state.
import { type RejectionReason, TransitionRejectedError } from '../errors.ts';
import { supportsState } from './flags.ts';
import { DeviceState, stateName } from './states.ts';

const { ERROR: E, STOP: S, RUNNING: R, STOP_COPY: SC, RESUMING: RES, RUNNING_P2P: RP, PRE_COPY: PC } = DeviceState;
const PCP = DeviceState.PRE_COPY_P2P;

// NEXT[current][requested]; rows and columns in uAPI order (ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P,
// PRE_COPY, PRE_COPY_P2P). ERROR as an entry marks a request the kernel refuses (STOP_COPY to PRE_COPY*).
const NEXT: readonly (readonly DeviceState[])[] = [
  /* ERROR        */ [E, E, E, E, E, E, E, E],
  /* STOP         */ [E, S, RP, SC, RES, RP, RP, RP],
  /* RUNNING      */ [E, RP, R, RP, RP, RP, PC, RP],
  /* STOP_COPY    */ [E, S, S, SC, S, S, E, E],
  /* RESUMING     */ [E, S, S, S, RES, S, S, S],
  /* RUNNING_P2P  */ [E, S, R, S, S, RP, R, PCP],
  /* PRE_COPY     */ [E, R, R, PCP, R, R, PC, PCP],
  /* PRE_COPY_P2P */ [E, RP, RP, SC, RP, RP, PC, PCP],
];

export type NextStep = { ok: true; next: DeviceState } | { ok: false; reason: RejectionReason };

/** One step of the kernel's algorithm: the next state on the way from `current` to `requested`. */
export function nextStep(flags: number, current: DeviceState, requested: DeviceState): NextStep {
  if (current === E) return { ok: false, reason: 'error-source' };
  if (!supportsState(flags, current)) return { ok: false, reason: 'unsupported-source' };
  if (requested === E) return { ok: false, reason: 'error-target' };
  if (!supportsState(flags, requested)) return { ok: false, reason: 'unsupported-target' };
  let next = NEXT[current]![requested]!;
  while (next !== E && !supportsState(flags, next)) next = NEXT[next]![requested]!;
  return next === E ? { ok: false, reason: 'blocked' } : { ok: true, next };
}

export type TransitionPath = { ok: true; path: DeviceState[] } | { ok: false; reason: RejectionReason };

/**
 * The states a device passes through, after `from` and ending with `to`, when `to` is requested: exactly the
 * sequence of arcs the kernel asks of its driver. `[]` when `from === to`.
 */
export function transitionPath(flags: number, from: DeviceState, to: DeviceState): TransitionPath {
  const path: DeviceState[] = [];
  let cur = from;
  // The kernel has no loop guard; the table's longest path is 4 steps, so 8 bounds any table mistake.
  for (let guard = 0; guard <= 8; guard++) {
    const step = nextStep(flags, cur, to);
    if (!step.ok) return step;
    if (step.next === cur) return { ok: true, path };
    path.push(step.next);
    cur = step.next;
  }
  throw new Error(`internal: no fixed point from ${stateName(from)} to ${stateName(to)}`);
}

const REASON_TEXT: Record<RejectionReason, string> = {
  'error-target': 'ERROR cannot be requested; only a device reset leaves it',
  'error-source': 'the device is in ERROR; only VFIO_DEVICE_RESET recovers it',
  'unsupported-target': 'the device does not support the requested state with its migration flags',
  'unsupported-source': 'the device cannot be in that state with its migration flags',
  blocked:
    'the kernel blocks STOP_COPY to PRE_COPY/PRE_COPY_P2P (older kernels hang on it), so it is refused before ' +
    'reaching the device',
};

/** The path, or a TransitionRejectedError saying why the kernel would refuse the request. */
export function requirePath(flags: number, from: DeviceState, to: DeviceState): DeviceState[] {
  const result = transitionPath(flags, from, to);
  if (result.ok) return result.path;
  throw new TransitionRejectedError(stateName(from), stateName(to), result.reason, REASON_TEXT[result.reason]);
}
