// The single arcs a device implements for each flag set, and what each arc does to the data session.
import { MigrationFlag } from './flags.ts';
import { DeviceState, isSavingState } from './states.ts';

const { STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = DeviceState;

export type Arc = readonly [from: DeviceState, to: DeviceState];

/** Every single arc a device with `flags` must implement (the arcs the kernel core may ask of its driver). */
export function singleArcs(flags: number): Arc[] {
  const p2p = (flags & MigrationFlag.P2P) !== 0;
  const preCopy = (flags & MigrationFlag.PRE_COPY) !== 0;
  const arcs: Arc[] = [
    [STOP, STOP_COPY],
    [STOP_COPY, STOP],
    [STOP, RESUMING],
    [RESUMING, STOP],
  ];
  if (p2p) {
    arcs.push([RUNNING, RUNNING_P2P], [RUNNING_P2P, RUNNING], [RUNNING_P2P, STOP], [STOP, RUNNING_P2P]);
  } else {
    arcs.push([RUNNING, STOP], [STOP, RUNNING]);
  }
  if (preCopy) {
    arcs.push([RUNNING, PRE_COPY], [PRE_COPY, RUNNING]);
    if (p2p) {
      arcs.push(
        [PRE_COPY, PRE_COPY_P2P],
        [PRE_COPY_P2P, PRE_COPY],
        [PRE_COPY_P2P, RUNNING_P2P],
        [RUNNING_P2P, PRE_COPY_P2P],
        [PRE_COPY_P2P, STOP_COPY],
      );
    } else {
      arcs.push([PRE_COPY, STOP_COPY]);
    }
  }
  return arcs;
}

export function isSingleArc(flags: number, from: DeviceState, to: DeviceState): boolean {
  return singleArcs(flags).some(([a, b]) => a === from && b === to);
}

/** What an arc does to data sessions: the kernel returns a new data fd exactly when `opens` is set. */
export interface ArcSessionEffect {
  opens: 'saving' | 'resuming' | null;
  closes: 'saving' | 'resuming' | null;
}

export function arcSessionEffect(from: DeviceState, to: DeviceState): ArcSessionEffect {
  const wasSaving = isSavingState(from);
  const isSaving = isSavingState(to);
  return {
    opens: !wasSaving && isSaving ? 'saving' : from === STOP && to === RESUMING ? 'resuming' : null,
    closes: wasSaving && !isSaving ? 'saving' : from === RESUMING && to !== RESUMING ? 'resuming' : null,
  };
}
