// `vfio-migrate reset` and `vfio-migrate recover`: getting a device back to RUNNING after a migration went wrong.
import { DEFAULT_DEVICE, openDevice } from '../device/open-device.ts';
import { UsageError } from '../errors.ts';
import { stateName } from '../fsm/index.ts';
import { defineCommand, toJson } from './command.ts';

const resetUsage = `usage: vfio-migrate reset --device SPEC [--json]

Resets the device (VFIO_DEVICE_RESET): from any state, ERROR and a failed RESUMING included, it returns to RUNNING
and any migration data session ends. The device's own state is reset too; prefer 'recover' for a device that was
merely left mid-migration.`;

const recoverUsage = `usage: vfio-migrate recover --device SPEC [--json]

Brings a device left outside RUNNING by an earlier user (a process that died mid-migration) back to RUNNING:
saving and stopped states (STOP_COPY, STOP, RUNNING_P2P, PRE_COPY...) step back through the kernel's arcs, keeping
the device's state; RESUMING and ERROR are reset, never stepped (a failed resume cannot be stepped out of safely).`;

const deviceOptions = { device: { type: 'string' }, json: { type: 'boolean', default: false } } as const;

function requireDevice(device: string | undefined): string {
  if (!device) throw new UsageError(`--device is required (e.g. vfio:/dev/vfio/devices/vfio0 or ${DEFAULT_DEVICE})`);
  return device;
}

export const resetCommand = defineCommand({
  name: 'reset',
  summary: 'reset a device to RUNNING (VFIO_DEVICE_RESET), from any state',
  usage: resetUsage,
  options: deviceOptions,
  optionValues: { device: 'device' },
  async run({ values }, io) {
    const spec = requireDevice(values.device);
    const device = await openDevice(spec, { signal: io.signal });
    try {
      const from = stateName(device.state);
      await device.reset({ signal: io.signal });
      const state = stateName(device.state);
      if (values.json)
        io.out(`${toJson({ ok: true, command: 'reset', device: spec, from, action: 'reset', state })}\n`);
      else if (io.verbosity !== 'quiet') io.out(`${spec}: ${from} -> reset -> ${state}\n`);
      return 0;
    } finally {
      await device.close();
    }
  },
});

export const recoverCommand = defineCommand({
  name: 'recover',
  summary: 'bring a device left mid-migration back to RUNNING (steps back, or resets a failed resume)',
  usage: recoverUsage,
  options: deviceOptions,
  optionValues: { device: 'device' },
  async run({ values }, io) {
    const spec = requireDevice(values.device);
    const { recoverDevice } = await import('../device/vfio/recover.ts');
    const device = await openDevice(spec, { signal: io.signal });
    try {
      const r = await recoverDevice(device, { signal: io.signal });
      if (values.json) io.out(`${toJson({ ok: true, command: 'recover', device: spec, ...r })}\n`);
      else if (io.verbosity === 'quiet') return 0;
      else if (r.action === 'none') io.out(`${spec}: already RUNNING, nothing to do\n`);
      else {
        const how = r.action === 'step' ? `stepped ${[r.from, ...r.path].join(' -> ')}` : `reset (${r.reason})`;
        io.out(`${spec}: found in ${r.from}; ${how}; now ${r.state}\n`);
        if (r.steppingFailed)
          io.err(`note: stepping failed first (${r.steppingFailed.code}), so the device was reset\n`);
      }
      return 0;
    } finally {
      await device.close();
    }
  },
});
