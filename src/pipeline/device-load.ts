// Loading a device: the stream header is verified before the device is touched; then STOP -> RESUMING, every chunk
// written only after its checksum verified, the trailer checked, and RESUMING -> STOP (where the device validates
// what it got) -> RUNNING. Any stream error resets the device instead of stepping a RESUMING that received a bad or
// incomplete stream.
import type { MigrationDevice } from '../device/migration-device.ts';
import type { OperationOptions } from '../device/types.ts';
import {
  DataSessionMissingError,
  type DeviceRecoveryError,
  DeviceStalledError,
  StreamDeviceMismatchError,
  toVfioMigrateError,
} from '../errors.ts';
import { DeviceState, stateName } from '../fsm/index.ts';
import { encodeReceipt, type StreamHeader } from '../stream/index.ts';
import type { ByteSource } from './byte-endpoints.ts';
import { assertReadyFor } from './device-readiness.ts';
import { DEFAULT_DEVICE_IDLE_MS, deviceMetadata, recoverToRunning, settledState } from './device-save.ts';
import { type SourceLike, sinkFromResumingSession, toByteSource } from './endpoint-adapters.ts';
import { guardSink } from './progress-guard.ts';
import { type LoadOptions, type LoadResult, loadStream } from './stream-loader.ts';

export interface LoadDeviceOptions extends Omit<LoadOptions, 'onHeader'> {
  /** State to leave the device in after a successful load (default RUNNING). */
  leaveIn?: 'running' | 'stop' | undefined;
  /** Refuse a stream whose recorded device profile/driver differs from this device's (default true). */
  checkDevice?: boolean | undefined;
  /** Extra check of the header before the device is touched (throw to refuse). */
  onHeader?: ((header: StreamHeader) => void | Promise<void>) | undefined;
  /** A device write that takes nothing for this long fails with DeviceStalledError (default 60 s; 0: never). */
  deviceIdleMs?: number | undefined;
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
 * `source` for loadStream, with its closing held back: loadStream's close only ends the reads (so a failed load
 * still unblocks), while the connection stays open for the receipt that `finish` sends once the device's fate is
 * known, then closes it for real.
 */
function heldOpen(source: ByteSource) {
  let release!: () => void;
  const released = new Promise<number>((r) => (release = () => r(0)));
  return {
    source: {
      name: source.name,
      read: (into: Uint8Array, o?: OperationOptions) => Promise.race([source.read(into, o), released]),
      close: async () => release(),
    } satisfies ByteSource,
    async finish(receipt: Uint8Array | null): Promise<void> {
      release();
      try {
        if (receipt && source.reply) await source.reply(receipt);
      } catch {
        // the sender is gone: nobody to tell
      } finally {
        await source.close().catch(() => {});
      }
    },
  };
}

/**
 * Loads a stream from `source` (a path, `-`, a socket spec, or any byte source) into `device`: the header is
 * verified before the device is touched (a foreign, newer-version or, with `checkDevice`, other-profile stream
 * never reaches it), then STOP -> RESUMING, each chunk written only after its checksum verified, the trailer
 * checked, and RESUMING -> STOP (where the device validates its state) -> RUNNING (or STOP with `leaveIn`).
 * On a stream or device error the device is reset, never resumed, and the error's `finalState` says where it
 * ended; `opts.signal` aborts the same way. Over a socket, the sender gets a receipt saying how the load went.
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
  const idleMs = opts.deviceIdleMs ?? DEFAULT_DEVICE_IDLE_MS;
  const held = heldOpen(toByteSource(source));
  let streamId: Uint8Array | null = null;
  let touched = false;
  try {
    await assertReadyFor(device, 'load', signal);
    const result = await loadStream(
      held.source,
      async () => {
        touched = true;
        const { opened } = await device.setState(DeviceState.RESUMING, { signal });
        const session = opened?.kind === 'resuming' ? opened : device.resumingSession;
        if (!session) throw new DataSessionMissingError(`${device.id} opened no resuming session`);
        // A device that stops taking data fails the load (and is reset) instead of holding both ends forever.
        return guardSink(
          sinkFromResumingSession(session),
          { idleMs },
          (_limit, bytes) => new DeviceStalledError(device.id, 'write', bytes, idleMs),
        );
      },
      {
        ...opts,
        busyThreads: opts.busyThreads ?? device.backend.hostThreads,
        onHeader: async (header) => {
          streamId = header.streamId;
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
    await held.finish(encodeReceipt(result.header.streamId, { ok: true, finalState: stateName(final) }));
    return { ...result, device: device.id, digest, finalState: stateName(final) };
  } catch (err) {
    const error = toVfioMigrateError(err);
    // Never complete a RESUMING that got a bad stream: reset throws the partial state away.
    if (touched) {
      if (device.state === DeviceState.RESUMING || device.state === DeviceState.ERROR)
        await device.reset().catch(() => {});
      try {
        await recoverToRunning(device, error);
      } catch (recovery) {
        (recovery as DeviceRecoveryError).finalState = await settledState(device);
        await held.finish(null);
        throw recovery;
      }
    }
    error.finalState = await settledState(device);
    const id = streamId as Uint8Array | null;
    await held.finish(
      id
        ? encodeReceipt(id, { ok: false, code: error.code, message: error.message, finalState: error.finalState })
        : null,
    );
    throw error;
  }
}
