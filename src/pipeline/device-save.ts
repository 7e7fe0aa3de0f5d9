// Saving a device: optional pre-copy rounds while it runs, then STOP_COPY to the end of its data, then back to
// RUNNING (or STOP). Whatever fails, the source device is brought back to RUNNING: a failed save must never leave
// a VMM's device stopped.
import type { MigrationDevice } from '../device/migration-device.ts';
import { DataSessionMissingError, DeviceRecoveryError } from '../errors.ts';
import { DeviceState, MigrationFlag, stateName } from '../fsm/index.ts';
import { assertReadyFor } from './device-readiness.ts';
import type { SinkLike } from './endpoint-adapters.ts';
import { sourceFromSavingSession } from './endpoint-adapters.ts';
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

/**
 * Saves `device`'s migration state into `sink` (a path, `-`, a socket spec, or any byte sink): pre-copy rounds
 * while it runs when `opts.precopy` asks and the device supports PRE_COPY, then STOP_COPY to the end of its data,
 * then back to RUNNING (or STOP with `leaveIn: 'stop'`). The device must start in RUNNING, RUNNING_P2P or STOP
 * (`DeviceNotReadyError` otherwise, nothing done). Whatever fails, the device is returned to RUNNING (reset
 * where it cannot be stepped) before the error is thrown; `opts.signal` aborts the same way (`AbortedError`).
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
  await assertReadyFor(device, 'save', signal);
  const usePrecopy = Boolean(opts.precopy) && (device.flags & MigrationFlag.PRE_COPY) !== 0;
  const policy: PrecopyPolicy = typeof opts.precopy === 'object' ? opts.precopy : {};
  const stopCopyEstimate = toNumber(await device.stopCopySize({ signal }));
  let saver: StreamSaver | null = null;
  let rounds = 0;
  try {
    saver = await StreamSaver.open(sink, {
      ...opts,
      device: deviceMetadata(device),
      migrationFlags: device.flags,
      expectedBytes: usePrecopy ? undefined : stopCopyEstimate,
    });
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
        await saver.section('pre-copy', sourceFromSavingSession(opened), { expectedBytes: pending });
      }
    }
    // Into STOP_COPY: from PRE_COPY the same session continues; from RUNNING the arc into the group opens one.
    const { opened } = await device.setState(DeviceState.STOP_COPY, { signal });
    const session = opened?.kind === 'saving' ? opened : device.savingSession;
    if (!session) throw new DataSessionMissingError(`${device.id} has no saving session in STOP_COPY`);
    const stopCopyBytes = usePrecopy ? toNumber(await device.stopCopySize({ signal })) : stopCopyEstimate;
    await saver.section('stop-copy', sourceFromSavingSession(session), { expectedBytes: stopCopyBytes ?? null });
    const result = await saver.finish();
    // The digest of the state that was saved: taken while the device is still stopped (once it runs, it changes).
    const digest = (await device.stateDigest({ signal })) ?? null;
    const final = opts.leaveIn === 'stop' ? DeviceState.STOP : DeviceState.RUNNING;
    await device.setState(final, { signal });
    return { ...result, device: device.id, digest, precopyRounds: rounds, finalState: stateName(final) };
  } catch (err) {
    await saver?.abort(err);
    await recoverToRunning(device, err);
    throw err;
  }
}
