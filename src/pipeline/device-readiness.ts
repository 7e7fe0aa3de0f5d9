// Where a save or a load may start. A device in a saving or resuming state belongs to a migration already under
// way (or to a process that died during one: device state survives the fd's close); stepping it out from here
// would throw away someone's session, or for a failed resume crash some drivers. Such a device is refused, untouched.
import type { MigrationDevice } from '../device/migration-device.ts';
import { DeviceNotReadyError } from '../errors.ts';
import { DeviceState, stateName } from '../fsm/index.ts';

const STARTABLE: ReadonlySet<DeviceState> = new Set([DeviceState.RUNNING, DeviceState.RUNNING_P2P, DeviceState.STOP]);

/** Throws DeviceNotReadyError unless the device is RUNNING, RUNNING_P2P or STOP (re-read from the device). */
export async function assertReadyFor(
  device: MigrationDevice,
  operation: 'save' | 'load',
  signal?: AbortSignal,
): Promise<void> {
  const state = await device.refreshState({ signal });
  if (!STARTABLE.has(state)) throw new DeviceNotReadyError(device.id, stateName(state), operation);
}
