// Loading a device: the stream header is verified before the device is touched; then STOP -> RESUMING, every chunk
// written only after its checksum verified, the trailer checked, and RESUMING -> STOP (where the device validates
// what it got) -> RUNNING. Any stream error resets the device instead of stepping a RESUMING that received a bad or
// incomplete stream.
import type { MigrationDevice } from '../device/migration-device.ts';
import { DataSessionMissingError, StreamDeviceMismatchError } from '../errors.ts';
import { DeviceState, stateName } from '../fsm/index.ts';
import type { StreamHeader } from '../stream/index.ts';
import { assertReadyFor } from './device-readiness.ts';
import { deviceMetadata, recoverToRunning } from './device-save.ts';
import type { SourceLike } from './endpoint-adapters.ts';
import { type LoadOptions, type LoadResult, loadStream } from './stream-loader.ts';

export interface LoadDeviceOptions extends Omit<LoadOptions, 'onHeader'> {
  /** State to leave the device in after a successful load (default RUNNING). */
  leaveIn?: 'running' | 'stop' | undefined;
  /** Refuse a stream whose recorded device profile/driver differs from this device's (default true). */
  checkDevice?: boolean | undefined;
  /** Extra check of the header before the device is touched (throw to refuse). */
  onHeader?: ((header: StreamHeader) => void | Promise<void>) | undefined;
}

export interface LoadDeviceResult extends LoadResult {
  device: string;
  digest: string | null;
  finalState: string;
}

/** The identity facts compared between the stream's source device and the destination. */
const IDENTITY_FIELDS = ['profile', 'driver', 'model'] as const;

export function checkDeviceMatch(header: StreamHeader, device: MigrationDevice): void {
  const mine = deviceMetadata(device);
  for (const field of IDENTITY_FIELDS) {
    const a = header.device[field];
    const b = mine[field];
    if (typeof a === 'string' && typeof b === 'string' && a !== b) throw new StreamDeviceMismatchError(field, a, b);
  }
}

/**
 * Loads a stream from `source` (a path, `-`, a socket spec, or any byte source) into `device`: the header is
 * verified before the device is touched (a foreign, newer-version or, with `checkDevice`, other-profile stream
 * never reaches it), then STOP -> RESUMING, each chunk written only after its checksum verified, the trailer
 * checked, and RESUMING -> STOP (where the device validates its state) -> RUNNING (or STOP with `leaveIn`).
 * On a stream or device error the device is reset, never resumed; `opts.signal` aborts the same way.
 *
 * @returns the header and trailer read, the sections, the device's state digest after loading, and the
 *   transfer's statistics ({@link TransferStats}).
 * @throws {VfioMigrateError} a subclass with a stable `code`; stream errors carry the stream `offset`.
 * @example
 * ```ts
 * const loaded = await loadDevice(await openSource('nic.vfm'), device, { onProgress: (p) => console.log(p.bytes) });
 * ```
 */
export async function loadDevice(
  source: SourceLike,
  device: MigrationDevice,
  opts: LoadDeviceOptions = {},
): Promise<LoadDeviceResult> {
  const signal = opts.signal;
  await assertReadyFor(device, 'load', signal);
  let touched = false;
  try {
    const result = await loadStream(
      source,
      async () => {
        touched = true;
        const { opened } = await device.setState(DeviceState.RESUMING, { signal });
        const session = opened?.kind === 'resuming' ? opened : device.resumingSession;
        if (!session) throw new DataSessionMissingError(`${device.id} opened no resuming session`);
        return session;
      },
      {
        ...opts,
        onHeader: async (header) => {
          if (opts.checkDevice ?? true) checkDeviceMatch(header, device);
          await opts.onHeader?.(header);
        },
      },
    );
    // RESUMING -> STOP is where the device validates and applies what it received.
    await device.setState(DeviceState.STOP, { signal });
    // The digest of the state as loaded, before the device runs and changes it (comparable with save's digest).
    const digest = (await device.stateDigest({ signal })) ?? null;
    const final = opts.leaveIn === 'stop' ? DeviceState.STOP : DeviceState.RUNNING;
    await device.setState(final, { signal });
    return { ...result, device: device.id, digest, finalState: stateName(final) };
  } catch (err) {
    // Never complete a RESUMING that got a bad stream: reset throws the partial state away.
    if (touched) {
      if (device.state === DeviceState.RESUMING || device.state === DeviceState.ERROR)
        await device.reset().catch(() => {});
      await recoverToRunning(device, err);
    }
    throw err;
  }
}
