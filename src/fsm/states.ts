// The migration states of VFIO migration protocol v2 with their uAPI numbers (enum vfio_device_mig_state).
import { UnknownStateError } from '../errors.ts';

export const DeviceState = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;
export type DeviceState = (typeof DeviceState)[keyof typeof DeviceState];
export type StateName = keyof typeof DeviceState;

/** All states in uAPI order. */
export const ALL_STATES: readonly DeviceState[] = [0, 1, 2, 3, 4, 5, 6, 7];

const NAMES: readonly StateName[] = [
  'ERROR',
  'STOP',
  'RUNNING',
  'STOP_COPY',
  'RESUMING',
  'RUNNING_P2P',
  'PRE_COPY',
  'PRE_COPY_P2P',
];

export function stateName(state: DeviceState): StateName {
  const name = NAMES[state];
  if (name === undefined) throw new UnknownStateError(state);
  return name;
}

export function isDeviceState(value: unknown): value is DeviceState {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < NAMES.length;
}

/**
 * Parses a state given by name (case-insensitive; `-` and `_` alike) or by uAPI number, e.g. `stop-copy`, `STOP_COPY`,
 * `3`.
 */
export function parseState(input: string | number): DeviceState {
  if (typeof input === 'number') {
    if (isDeviceState(input)) return input;
    throw new UnknownStateError(input);
  }
  const text = input.trim();
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (isDeviceState(n)) return n;
    throw new UnknownStateError(input);
  }
  const idx = NAMES.indexOf(text.toUpperCase().replaceAll('-', '_') as StateName);
  if (idx < 0) throw new UnknownStateError(input);
  return idx as DeviceState;
}

/** PRE_COPY, PRE_COPY_P2P and STOP_COPY share one saving data session. */
export function isSavingState(state: DeviceState): boolean {
  return state === DeviceState.STOP_COPY || state === DeviceState.PRE_COPY || state === DeviceState.PRE_COPY_P2P;
}

export function isPreCopyState(state: DeviceState): boolean {
  return state === DeviceState.PRE_COPY || state === DeviceState.PRE_COPY_P2P;
}

/** States in which the device is executing (DMA and interrupts allowed). */
export function isRunningState(state: DeviceState): boolean {
  return (
    state === DeviceState.RUNNING ||
    state === DeviceState.RUNNING_P2P ||
    state === DeviceState.PRE_COPY ||
    state === DeviceState.PRE_COPY_P2P
  );
}
