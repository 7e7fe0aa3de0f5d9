// Saving a device: optional pre-copy rounds while it runs, then STOP_COPY to the end of its data, then back to
// RUNNING (or STOP). Whatever fails, the source device is brought back to RUNNING: a failed save must never leave
// a VMM's device stopped.
import type { MigrationDevice } from '../device/migration-device.ts';
import type { SavingSession } from '../device/types.ts';
import {
  DataEndUnconfirmedError,
  DataSessionMissingError,
  DeviceRecoveryError,
  DeviceStalledError,
  toVfioMigrateError,
} from '../errors.ts';
import { DeviceState, MigrationFlag, stateName } from '../fsm/index.ts';
import { assertReadyFor } from './device-readiness.ts';
import { type SessionSource, type SinkLike, sourceFromSavingSession, toByteSink } from './endpoint-adapters.ts';
import { guardSource } from './progress-guard.ts';
import { type SaveOptions, type SaveResult, StreamSaver } from './stream-saver.ts';

export interface PrecopyPolicy {
  /** Most pre-copy rounds before stopping the device (default 4). */
  maxRounds?: number | undefined;
  /** Stop iterating once the initial data is sent and at most this many dirty bytes wait (default 1 MiB). */
  dirtyThreshold?: number | undefined;
}

export interface SaveDeviceOptions extends Omit<SaveOptions, 'device' | 'migrationFlags' | 'expectedBytes'> {
  /** Run pre-copy rounds first when the device supports PRE_COPY (true: the default policy). */
  precopy?: boolean | PrecopyPolicy | undefined;
  /** State to leave the device in after a successful save (default RUNNING). */
  leaveIn?: 'running' | 'stop' | undefined;
  /** A device read that brings nothing for this long fails with DeviceStalledError (default 60 s; 0: never). */
  deviceIdleMs?: number | undefined;
}

export interface SaveDeviceResult extends SaveResult {
  device: string;
  /** The device's state digest as saved (taken in STOP_COPY, before it runs again), where it gives one. */
  digest: string | null;
  /** Pre-copy rounds run. */
  precopyRounds: number;
  finalState: string;
}

/** `describe()` as plain JSON (bigints as decimal strings) for the stream header. */
export function deviceMetadata(device: MigrationDevice): Record<string, unknown> {
  const facts = { id: device.id, kind: device.backend.kind, ...device.backend.describe() };
  return JSON.parse(JSON.stringify(facts, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

function toNumber(n: bigint): number | undefined {
  return n >= 0n && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

/** Returns the device to RUNNING after a failure; resets it when a transition cannot (ERROR, broken arc). */
export async function recoverToRunning(device: MigrationDevice, cause: unknown): Promise<void> {
  try {
    if (device.state !== DeviceState.ERROR) {
      try {
        await device.setState(DeviceState.RUNNING);
        return;
      } catch {
        // fall through to the reset
      }
    }
    await device.reset();
  } catch (err) {
    let state = 'unknown';
    try {
      state = stateName(await device.refreshState());
    } catch {}
    throw new DeviceRecoveryError(
      device.id,
      state,
      `after ${cause instanceof Error ? cause.message : String(cause)}, returning it to RUNNING failed too: ${(err as Error).message}`,
      { cause },
    );
  }
}

/** How long a device's data session may make no progress before it counts as stalled (default 60 s). */
export const DEFAULT_DEVICE_IDLE_MS = 60_000;

/** A saving session as a section source whose reads fail with DeviceStalledError after `idleMs` without data. */
export function deviceSource(device: MigrationDevice, session: SavingSession, idleMs: number) {
  const source = sourceFromSavingSession(session);
  const guarded = guardSource(
    source,
    { idleMs },
    (_limit, bytes) => new DeviceStalledError(device.id, 'read', bytes, idleMs),
  );
  return { source, guarded };
}

/**
 * The device's data ended: make sure the device says so too before anything is sealed. The session must have
 * ended with the end of its data (not a pause), the device must still be in STOP_COPY (a device that failed or died
 * is in ERROR, or gone), and where the device vouches for exact sizes, it must have delivered what it announced.
 */
export async function confirmDataEnd(
  device: MigrationDevice,
  source: SessionSource,
  bytes: number,
  exactBytes: number | undefined,
  signal?: AbortSignal,
): Promise<void> {
  if (source.ended !== 'end') {
    throw new DataEndUnconfirmedError(
      device.id,
      bytes,
      'its data session stopped without reaching the end of its data',
    );
  }
  const state = await device.refreshState({ signal });
  if (state !== DeviceState.STOP_COPY) {
    throw new DataEndUnconfirmedError(device.id, bytes, `the device is now in ${stateName(state)}, not STOP_COPY`);
  }
  if (exactBytes !== undefined && bytes !== exactBytes) {
    throw new DataEndUnconfirmedError(
      device.id,
      bytes,
      `the device announced exactly ${exactBytes} bytes for STOP_COPY`,
    );
  }
}

/** Where a device ended after a failure was handled (its tracked state when it cannot be read). */
export async function settledState(device: MigrationDevice): Promise<string> {
  return stateName(await device.refreshState().catch(() => device.state));
}

/**
 * Saves `device`'s migration state into `sink` (a path, `-`, a socket spec, or any byte sink): pre-copy rounds
 * while it runs when `opts.precopy` asks and the device supports PRE_COPY, then STOP_COPY to the end of its data,
 * then back to RUNNING (or STOP with `leaveIn: 'stop'`). The device must start in RUNNING, RUNNING_P2P or STOP
 * (`DeviceNotReadyError` otherwise, nothing done). The stream is sealed (trailer written, a file moved into place)
 * only after the device confirmed the end of its data and reached its final state; over a socket, only once the
 * receiver's receipt says its load succeeded. Whatever fails, the device is returned to RUNNING (reset where it
 * cannot be stepped) and the error's `finalState` says where it ended; `opts.signal` aborts the same way.
 *
 * @returns the stream's header and totals, the sections written, the device's state digest as saved, and the
 *   transfer's statistics ({@link TransferStats}).
 * @throws {VfioMigrateError} a subclass with a stable `code` for every failure.
 * @example
 * ```ts
 * const saved = await saveDevice(device, await openSink('nic.vfm'), { codec: 'zstd', precopy: true });
 * ```
 */
export async function saveDevice(
  device: MigrationDevice,
  sink: SinkLike,
  opts: SaveDeviceOptions = {},
): Promise<SaveDeviceResult> {
  const signal = opts.signal;
  const idleMs = opts.deviceIdleMs ?? DEFAULT_DEVICE_IDLE_MS;
  let saver: StreamSaver | null = null;
  let rounds = 0;
  let touched = false;
  try {
    await assertReadyFor(device, 'save', signal);
    const usePrecopy = Boolean(opts.precopy) && (device.flags & MigrationFlag.PRE_COPY) !== 0;
    const policy: PrecopyPolicy = typeof opts.precopy === 'object' ? opts.precopy : {};
    const stopCopyEstimate = toNumber(await device.stopCopySize({ signal }));
    saver = await StreamSaver.open(sink, {
      ...opts,
      busyThreads: opts.busyThreads ?? device.backend.hostThreads,
      device: deviceMetadata(device),
      migrationFlags: device.flags,
      expectedBytes: usePrecopy ? undefined : stopCopyEstimate,
    });
    // From here on the device leaves where it was: a failure must bring it back.
    touched = true;
    if (usePrecopy) {
      const maxRounds = policy.maxRounds ?? 4;
      const threshold = policy.dirtyThreshold ?? 1 << 20;
      const { opened } = await device.setState(DeviceState.PRE_COPY, { signal });
      if (opened?.kind !== 'saving')
        throw new DataSessionMissingError(`${device.id}: PRE_COPY opened no saving session`);
      for (;;) {
        const info = await device.precopyInfo({ signal });
        const pending = toNumber(info.initialBytes + info.dirtyBytes) ?? null;
        if (rounds >= maxRounds || (rounds > 0 && info.initialBytes === 0n && info.dirtyBytes <= BigInt(threshold))) {
          break;
        }
        rounds++;
        await saver.section('pre-copy', deviceSource(device, opened, idleMs).guarded, { expectedBytes: pending });
      }
    }
    // Into STOP_COPY: from PRE_COPY the same session continues; from RUNNING the arc into the group opens one.
    const { opened } = await device.setState(DeviceState.STOP_COPY, { signal });
    const session = opened?.kind === 'saving' ? opened : device.savingSession;
    if (!session) throw new DataSessionMissingError(`${device.id} has no saving session in STOP_COPY`);
    const stopCopyBytes = usePrecopy ? toNumber(await device.stopCopySize({ signal })) : stopCopyEstimate;
    const exact = device.exactSizes && stopCopyBytes !== undefined;
    const { source, guarded } = deviceSource(device, session, idleMs);
    const section = await saver.section('stop-copy', guarded, { expectedBytes: stopCopyBytes ?? null, exact });
    await confirmDataEnd(device, source, section.bytes, exact ? stopCopyBytes : undefined, signal);
    // The digest of the state that was saved: taken while the device is still stopped (once it runs, it changes).
    const digest = (await device.stateDigest({ signal })) ?? null;
    const final = opts.leaveIn === 'stop' ? DeviceState.STOP : DeviceState.RUNNING;
    await device.setState(final, { signal });
    // Sealed last: a stream with a trailer (a file under its name) exists only for a save that fully succeeded.
    const result = await saver.finish();
    return { ...result, device: device.id, digest, precopyRounds: rounds, finalState: stateName(final) };
  } catch (err) {
    const error = toVfioMigrateError(err);
    // The sink was opened by the caller: tear it down (a partial file removed) even if no stream was started on it.
    if (saver) await saver.abort(error);
    else
      await toByteSink(sink)
        .abort(error)
        .catch(() => {});
    if (touched) {
      try {
        await recoverToRunning(device, error);
      } catch (recovery) {
        (recovery as DeviceRecoveryError).finalState = await settledState(device);
        throw recovery;
      }
    }
    error.finalState = await settledState(device);
    throw error;
  }
}
