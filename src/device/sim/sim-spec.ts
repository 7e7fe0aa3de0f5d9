// `sim:PROFILE[,key=value...]` to a complete simulated-device configuration. Every key is checked; a bad one is named
// in a SimSpecKeyError (code VFM_DEVICE_SPEC).
import { SimSpecKeyError } from '../../errors.ts';
import { type DeviceState, flagNames, parseState, singleArcs, stateName, validateFlags } from '../../fsm/index.ts';
import { findProfile, PAGE_SIZE, SIM_PROFILES, type SimProfile } from './profiles.ts';

export interface SimFaults {
  /** The single arc that fails, as `FROM>TO` state names. */
  failArc?: string | undefined;
  /** Where a failed arc leaves the device: in the arc's source state (`stay`) or in ERROR. */
  failArcMode: 'stay' | 'error';
  /** The data session fails (read/write EIO) at this stream offset. */
  failAt?: number | undefined;
  /** The data session stops moving at this offset: nothing more is produced or consumed. */
  stallAt?: number | undefined;
  /** The producer writes tiny pieces, so reads come back short. */
  shortReads: boolean;
  /** The byte at this stream offset is flipped in transit (after the device's integrity check was computed). */
  corruptAt?: number | undefined;
  /** The process behind the device dies at this stream offset (the fd's other end goes away). */
  dieAt?: number | undefined;
}

/** The stream offsets where a fault stops the data (die, fail, stall): a device's reads and writes end there. */
export function faultStops(faults: SimFaults): readonly number[] {
  return [faults.dieAt, faults.failAt, faults.stallAt].filter((b): b is number => b !== undefined);
}

export interface SimConfig {
  profile: SimProfile;
  /** Bytes of device state (a multiple of 4 KiB). */
  size: number;
  pageCount: number;
  seed: number;
  flags: number;
  /** Bytes per second the running device writes. */
  dirtyRate: number;
  /** `real`: dirtying follows the wall clock; `manual`: only SimBackend.advanceClock() moves time. */
  clock: 'real' | 'manual';
  faults: SimFaults;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parses `4096`, `64k`, `2g`, `1.5GiB`, `512MB` (binary units). Returns null when not a size. */
export function parseSize(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) return null;
  const value = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(value) ? value : null;
}

/** 33554432 → `32m`; sizes that are not whole units stay in bytes. */
export function formatSize(bytes: number): string {
  for (const u of ['t', 'g', 'm', 'k'] as const) {
    const unit = UNITS[u]!;
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${u}`;
  }
  return String(bytes);
}

/** `stop-copy+p2p+pre-copy`, `all` (the spec uses `+` because `,` separates keys). */
function parseSimFlags(text: string): number {
  let flags = 0;
  for (const raw of text.split('+')) {
    const w = raw.trim().toLowerCase().replaceAll('_', '-');
    if (w === 'all') flags |= 7;
    else if (w === 'stop-copy') flags |= 1;
    else if (w === 'p2p') flags |= 2;
    else if (w === 'pre-copy' || w === 'precopy') flags |= 4;
    else throw new SimSpecKeyError('flags', `unknown migration flag ${JSON.stringify(raw)} in flags=${text}`);
  }
  try {
    return validateFlags(flags);
  } catch (cause) {
    throw new SimSpecKeyError('flags', `flags=${text}: ${(cause as Error).message}`);
  }
}

function byteOffset(key: string, value: string): number {
  const n = parseSize(value);
  if (n === null) throw new SimSpecKeyError(key, `${key}=${value}: expected a byte offset such as 4096 or 3m`);
  return n;
}

/** `8m/s`, `8m`, `0`: bytes per second. */
function parseRate(value: string): number {
  const n = parseSize(value.replace(/\/s$/i, ''));
  if (n === null) throw new SimSpecKeyError('dirty', `dirty=${value}: expected a rate such as 8m/s or 0`);
  return n;
}

function parseBool(key: string, value: string): boolean {
  if (value === '1' || value === 'true' || value === 'yes' || value === 'on') return true;
  if (value === '0' || value === 'false' || value === 'no' || value === 'off') return false;
  throw new SimSpecKeyError(key, `${key}=${value}: expected 1 or 0`);
}

/** The keys a spec accepts, with what they mean (shown by `sim show` and `sim list`). */
export const SIM_SPEC_KEYS: readonly (readonly [key: string, help: string])[] = [
  ['size', 'bytes of device state, a multiple of 4k (e.g. 64m, 2g)'],
  ['seed', 'integer 0..2^32-1; the same profile, size and seed give the same state'],
  ['flags', 'migration flags joined by + (stop-copy, p2p, pre-copy, all)'],
  ['dirty', 'bytes per second a running device writes (e.g. 8m/s, 0)'],
  ['clock', 'real (wall clock drives dirtying) or manual (tests advance it)'],
  ['fail-arc', 'the single arc FROM>TO that fails (e.g. STOP>STOP_COPY)'],
  ['fail-arc-mode', 'where the failed arc leaves the device: stay (its source state) or error'],
  ['fail-at', 'the data session fails with EIO at this stream offset'],
  ['stall-at', 'the data session stops moving at this stream offset'],
  ['short-reads', '1: the producer writes tiny pieces, reads come back short'],
  ['corrupt-at', 'flip the stream byte at this offset in transit'],
  ['die-at', 'the process behind the device dies at this stream offset'],
];

const MAX_PAGES = 2 ** 24; // 64 GiB: the device keeps 8 bytes per page of bookkeeping

/** Parses the part of a device spec after `sim:`. */
export function parseSimSpec(rest: string): SimConfig {
  const [head = '', ...pairs] = rest.split(',');
  const name = head.trim().toLowerCase();
  const profile = findProfile(name);
  if (!profile) {
    throw new SimSpecKeyError(
      'profile',
      `unknown simulated device profile ${JSON.stringify(name)}: expected one of ${SIM_PROFILES.map((p) => p.name).join(', ')}`,
    );
  }
  const config: SimConfig = {
    profile,
    size: profile.defaultSize,
    pageCount: 0,
    seed: 1,
    flags: profile.defaultFlags,
    dirtyRate: profile.defaultDirtyRate,
    clock: 'real',
    faults: { failArcMode: 'stay', shortReads: false },
  };
  const seen = new Set<string>();
  for (const pair of pairs) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (seen.has(key)) throw new SimSpecKeyError(key, `${key} is given twice`);
    seen.add(key);
    if (eq < 0 || value === '') throw new SimSpecKeyError(key, `${key} needs a value (${key}=...)`);
    switch (key) {
      case 'size': {
        const n = parseSize(value);
        if (n === null || n <= 0 || n % PAGE_SIZE !== 0) {
          throw new SimSpecKeyError('size', `size=${value}: expected a positive multiple of 4k such as 64m or 2g`);
        }
        if (n / PAGE_SIZE > MAX_PAGES) throw new SimSpecKeyError('size', `size=${value}: at most 64g`);
        if (profile.fixedSize && n !== profile.defaultSize) {
          throw new SimSpecKeyError(
            'size',
            `the ${profile.name} profile has a fixed state size (${formatSize(profile.defaultSize)})`,
          );
        }
        config.size = n;
        break;
      }
      case 'seed': {
        const n = /^(0x[0-9a-f]+|[0-9]+)$/i.test(value) ? Number(value) : Number.NaN;
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
          throw new SimSpecKeyError('seed', `seed=${value}: expected an integer 0..4294967295`);
        }
        config.seed = n;
        break;
      }
      case 'flags':
        config.flags = parseSimFlags(value);
        break;
      case 'dirty':
        config.dirtyRate = parseRate(value);
        break;
      case 'clock':
        if (value !== 'real' && value !== 'manual')
          throw new SimSpecKeyError('clock', `clock=${value}: expected real or manual`);
        config.clock = value;
        break;
      case 'fail-arc':
        config.faults.failArc = value;
        break;
      case 'fail-arc-mode':
        if (value !== 'stay' && value !== 'error') {
          throw new SimSpecKeyError('fail-arc-mode', `fail-arc-mode=${value}: expected stay or error`);
        }
        config.faults.failArcMode = value;
        break;
      case 'fail-at':
        config.faults.failAt = byteOffset(key, value);
        break;
      case 'stall-at':
        config.faults.stallAt = byteOffset(key, value);
        break;
      case 'short-reads':
        config.faults.shortReads = parseBool(key, value);
        break;
      case 'corrupt-at':
        config.faults.corruptAt = byteOffset(key, value);
        break;
      case 'die-at':
        config.faults.dieAt = byteOffset(key, value);
        break;
      default:
        throw new SimSpecKeyError(
          key,
          `unknown key ${JSON.stringify(key)} in sim:${rest}: expected ${SIM_SPEC_KEYS.map(([k]) => k).join(', ')}`,
        );
    }
  }
  config.pageCount = config.size / PAGE_SIZE;
  if (config.faults.failArc !== undefined) config.faults.failArc = normaliseArc(config.faults.failArc, config.flags);
  return config;
}

/** `stop>stop-copy` → `STOP>STOP_COPY`, checked to be a single arc of the device's flag set. */
function normaliseArc(text: string, flags: number): string {
  const parts = text.split('>');
  let from: DeviceState;
  let to: DeviceState;
  try {
    if (parts.length !== 2) throw new Error('expected FROM>TO');
    from = parseState(parts[0]!);
    to = parseState(parts[1]!);
  } catch (cause) {
    throw new SimSpecKeyError(
      'fail-arc',
      `fail-arc=${text}: expected FROM>TO state names (${(cause as Error).message})`,
    );
  }
  if (!singleArcs(flags).some(([a, b]) => a === from && b === to)) {
    throw new SimSpecKeyError(
      'fail-arc',
      `fail-arc=${text}: ${stateName(from)} -> ${stateName(to)} is not a single arc of a device with flags ` +
        `${flagNames(flags).join('+')}`,
    );
  }
  return `${stateName(from)}>${stateName(to)}`;
}

/** The canonical spec of a configuration (what reopens the same device). */
export function formatSimSpec(config: SimConfig): string {
  const p = config.profile;
  const parts = [`sim:${p.name}`];
  if (config.size !== p.defaultSize) parts.push(`size=${formatSize(config.size)}`);
  if (config.seed !== 1) parts.push(`seed=${config.seed}`);
  if (config.flags !== p.defaultFlags) parts.push(`flags=${flagNames(config.flags).join('+')}`);
  if (config.dirtyRate !== p.defaultDirtyRate) parts.push(`dirty=${formatSize(config.dirtyRate)}/s`);
  if (config.clock !== 'real') parts.push(`clock=${config.clock}`);
  const f = config.faults;
  if (f.failArc !== undefined) parts.push(`fail-arc=${f.failArc}`);
  if (f.failArcMode !== 'stay') parts.push(`fail-arc-mode=${f.failArcMode}`);
  if (f.failAt !== undefined) parts.push(`fail-at=${f.failAt}`);
  if (f.stallAt !== undefined) parts.push(`stall-at=${f.stallAt}`);
  if (f.shortReads) parts.push('short-reads=1');
  if (f.corruptAt !== undefined) parts.push(`corrupt-at=${f.corruptAt}`);
  if (f.dieAt !== undefined) parts.push(`die-at=${f.dieAt}`);
  return parts.join(',');
}
