// Migration feature flags (the VFIO_DEVICE_FEATURE_MIGRATION answer) and which states each flag set supports.
import { FlagsWithoutStopCopyError, UnknownFlagError } from '../errors.ts';
import { DeviceState } from './states.ts';

export const MigrationFlag = {
  STOP_COPY: 1,
  P2P: 2,
  PRE_COPY: 4,
} as const;

const KNOWN = MigrationFlag.STOP_COPY | MigrationFlag.P2P | MigrationFlag.PRE_COPY;

/** The four flag sets the kernel accepts from a driver, in CLI spelling order. */
export const ACCEPTED_FLAG_SETS: readonly number[] = [
  MigrationFlag.STOP_COPY,
  MigrationFlag.STOP_COPY | MigrationFlag.P2P,
  MigrationFlag.STOP_COPY | MigrationFlag.PRE_COPY,
  MigrationFlag.STOP_COPY | MigrationFlag.P2P | MigrationFlag.PRE_COPY,
];

const FLAG_NAMES: readonly (readonly [string, number])[] = [
  ['stop-copy', MigrationFlag.STOP_COPY],
  ['p2p', MigrationFlag.P2P],
  ['pre-copy', MigrationFlag.PRE_COPY],
];

/** Throws unless `flags` is one of the flag sets a migratable device can report. */
export function validateFlags(flags: number): number {
  if (!Number.isInteger(flags) || flags < 0 || (flags & ~KNOWN) !== 0) throw new UnknownFlagError(flags);
  if ((flags & MigrationFlag.STOP_COPY) === 0) throw new FlagsWithoutStopCopyError(flags);
  return flags;
}

/** Parses `stop-copy,p2p,pre-copy` (any order, case-insensitive, `_` or `-`); `all` means all three. */
export function parseFlags(input: string): number {
  let flags = 0;
  for (const raw of input.split(',')) {
    const word = raw.trim().toLowerCase().replaceAll('_', '-');
    if (word === '') continue;
    if (word === 'all') {
      flags |= KNOWN;
      continue;
    }
    const hit = FLAG_NAMES.find(([name]) => name === word);
    if (!hit) throw new UnknownFlagError(raw.trim());
    flags |= hit[1];
  }
  return validateFlags(flags);
}

export function flagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([, bit]) => (flags & bit) !== 0).map(([name]) => name);
}

/** The flags a state needs (the kernel's per-state requirement); ERROR can never be requested. */
export function requiredFlags(state: DeviceState): number {
  switch (state) {
    case DeviceState.RUNNING_P2P:
      return MigrationFlag.STOP_COPY | MigrationFlag.P2P;
    case DeviceState.PRE_COPY:
      return MigrationFlag.STOP_COPY | MigrationFlag.PRE_COPY;
    case DeviceState.PRE_COPY_P2P:
      return KNOWN;
    case DeviceState.ERROR:
      return Number.POSITIVE_INFINITY;
    default:
      return MigrationFlag.STOP_COPY;
  }
}

/** True when a device with `flags` has `state` (ERROR is never a supported request). */
export function supportsState(flags: number, state: DeviceState): boolean {
  const need = requiredFlags(state);
  return Number.isFinite(need) && (flags & need) === need;
}
