// The device-facing helper: a device implements only its single arcs; this elaborates any requested transition
// into the kernel's sequence of arcs and runs them one at a time, stopping at the first failure.
import { AbortedError, ArcFailedError } from '../errors.ts';
import { isSingleArc } from './arcs.ts';
import { requirePath } from './next-step.ts';
import { DeviceState, stateName } from './states.ts';

export interface StepOptions<T> {
  flags: number;
  from: DeviceState;
  to: DeviceState;
  /** Performs exactly one single arc; rejects when the device refused it. */
  arc: (from: DeviceState, to: DeviceState, signal: AbortSignal | undefined) => Promise<T>;
  /** Where the device is after a failed arc; without it the arc's source state is assumed. */
  readState?: () => Promise<DeviceState>;
  signal?: AbortSignal | undefined;
}

export interface StepRecord<T> {
  from: DeviceState;
  to: DeviceState;
  result: T;
}

/**
 * Runs the transition `from -> to`. Resolves with the arcs taken and their results. Rejects with
 * TransitionRejectedError before any arc when the kernel would refuse the request, with ArcFailedError (carrying the
 * device's state now) when an arc fails, and with AbortedError between arcs when `signal` fires. There is no
 * automatic unwinding: the protocol does not promise it, and the caller knows whether to reset, return or give up.
 */
export async function stepTransition<T>(opts: StepOptions<T>): Promise<StepRecord<T>[]> {
  const { flags, from, to, signal } = opts;
  const path = requirePath(flags, from, to);
  const done: StepRecord<T>[] = [];
  let cur = from;
  for (const next of path) {
    if (signal?.aborted) {
      throw new AbortedError(
        `aborted before ${stateName(cur)} -> ${stateName(next)}; the device is in ${stateName(cur)}`,
        {
          cause: signal.reason,
        },
      );
    }
    if (!isSingleArc(flags, cur, next)) {
      throw new Error(`internal: ${stateName(cur)} -> ${stateName(next)} is not a single arc for flags ${flags}`);
    }
    let result: T;
    try {
      result = await opts.arc(cur, next, signal);
    } catch (cause) {
      let now: DeviceState = cur;
      if (opts.readState) now = await opts.readState().catch(() => DeviceState.ERROR);
      throw new ArcFailedError(
        {
          target: stateName(to),
          arcFrom: stateName(cur),
          arcTo: stateName(next),
          state: stateName(now),
          completed: done.map((d) => `${stateName(d.from)}>${stateName(d.to)}`),
        },
        { cause },
      );
    }
    done.push({ from: cur, to: next, result });
    cur = next;
  }
  return done;
}
