// The device a save or a load moves data through, opened while this thread prepares what the pipeline needs next.
import { loadCore } from '../core/index.ts';
import type { MigrationDevice } from '../device/migration-device.ts';
import { type OpenDeviceOptions, openDevice } from '../device/open-device.ts';

/**
 * Opens device `spec`. A simulated device's thread may still be booting on the other core, and a real device's open
 * waits on the kernel: this thread loads its WebAssembly core meanwhile (a few ms of a small save's start otherwise).
 */
export function openTransferDevice(spec: string, opts: OpenDeviceOptions): Promise<MigrationDevice> {
  const opening = openDevice(spec, opts);
  try {
    loadCore();
  } catch {
    // a core that cannot load is reported by the pipeline, where it is needed
  }
  return opening;
}
