// `--device SPEC` to a MigrationDevice: `sim:PROFILE[,key=value...]` or `vfio:PATH|BDF|UUID`. Backends are imported
// only when used, so nothing loads the FFI package unless a real device is opened.
import { DeviceSpecError } from '../errors.ts';
import { MigrationDevice } from './migration-device.ts';
import type { OperationOptions } from './types.ts';

export interface OpenDeviceOptions extends OperationOptions {
  /** Where a device's role matters to a simulated device (a destination validates, a source produces). */
  role?: 'source' | 'destination';
}

/** The built-in default device for quick starts and examples. */
export const DEFAULT_DEVICE = 'sim:nic';

/**
 * Opens the device `spec` names: `sim:PROFILE[,key=value...]` for a simulated device, or
 * `vfio:PATH|BDF|UUID[,via=cdev|group][,device=NAME]` (or a `/dev/vfio/...` path) for a real one. Reads its
 * migration flags and current state; the device keeps its state when closed.
 *
 * @param opts `role: 'destination'` for a simulated device that is to receive a stream (it validates what it is
 *   given); `signal` to give up waiting.
 * @throws {DeviceSpecError} `VFM_DEVICE_SPEC` for a spec that names nothing; `VFM_VFIO_*` errors, each with
 *   `advice`, when a real device cannot be opened; `VFM_MIGRATION_UNSUPPORTED` when it cannot migrate.
 * @example
 * ```ts
 * const device = await openDevice('vfio:0000:3b:00.1');
 * try { console.log(device.state, device.flags) } finally { await device.close() }
 * ```
 */
export async function openDevice(spec: string, opts: OpenDeviceOptions = {}): Promise<MigrationDevice> {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? (spec.startsWith('/') ? 'vfio' : '') : spec.slice(0, colon);
  const rest = colon < 0 ? spec : spec.slice(colon + 1);
  switch (kind) {
    case 'sim': {
      const { openSimBackend } = await import('./sim/open-sim.ts');
      return MigrationDevice.open(await openSimBackend(rest, opts), opts);
    }
    case 'vfio': {
      const { openVfioBackend } = await import('./vfio/open-vfio.ts');
      return MigrationDevice.open(await openVfioBackend(rest, opts), opts);
    }
    default:
      throw new DeviceSpecError(
        `unknown device ${JSON.stringify(spec)}: expected sim:PROFILE[,key=value...] (see 'vfio-migrate sim list') ` +
          'or vfio:PATH|BDF|UUID (see vfio-migrate devices)',
      );
  }
}
