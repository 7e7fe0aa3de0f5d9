// `vfio-migrate devices`: the VFIO devices of this machine with their driver, migration flags and current state.

import { VfioMigrateError } from '../errors.ts';
import { flagNames, stateName } from '../fsm/index.ts';
import { defineCommand, toJson } from './command.ts';

const usage = `usage: vfio-migrate devices [--json]

Lists the devices bound to VFIO drivers (through /sys/class/vfio-dev and the IOMMU groups under /dev/vfio), with the
driver, how they open (cdev or group), their migration flags and current migration state. A device left outside
RUNNING by an earlier user is flagged with the command that recovers it. Opening a device to read its state needs
the same permissions as migrating it; a device held by another process (a VMM) shows as busy.`;

interface Row {
  spec: string;
  name: string;
  bus: string;
  driver: string | null;
  mdevType: string | null;
  cdev: string | null;
  group: string | null;
  flags: string[] | null;
  state: string | null;
  stopCopySize: bigint | null;
  problem: { code: string; message: string } | null;
  advice: string | null;
}

export const devicesCommand = defineCommand({
  name: 'devices',
  summary: 'list VFIO devices with their driver, migration flags and state',
  usage,
  options: { json: { type: 'boolean', default: false } },
  async run({ values }, io) {
    const { listVfioDevices, vfioPresent } = await import('../device/vfio/sysfs.ts');
    const roots = { sysfs: io.env.VFIO_MIGRATE_SYSFS, dev: io.env.VFIO_MIGRATE_DEVFS };
    const present = vfioPresent(roots);
    const entries = present ? listVfioDevices(roots) : [];
    const rows: Row[] = [];
    for (const e of entries) {
      const target = e.cdevPath ?? (e.bus === 'pci' || e.bus === 'mdev' ? e.name : e.groupPath);
      const spec = `vfio:${target}`;
      const row: Row = {
        spec,
        name: e.name,
        bus: e.bus,
        driver: e.driver,
        mdevType: e.mdevType,
        cdev: e.cdevPath,
        group: e.groupPath,
        flags: null,
        state: null,
        stopCopySize: null,
        problem: null,
        advice: null,
      };
      try {
        const { openDevice } = await import('../device/open-device.ts');
        const device = await openDevice(spec, { signal: io.signal });
        try {
          row.flags = flagNames(device.flags);
          row.state = stateName(device.state);
          row.stopCopySize = await device.stopCopySize().catch(() => null);
          const { leftoverAdvice } = await import('../device/vfio/recover.ts');
          row.advice = leftoverAdvice(device.state, spec);
        } finally {
          // Closing does not change the migration state (a device found in RESUMING stays there for `recover`).
          await device.close();
        }
      } catch (err) {
        if (!(err instanceof VfioMigrateError)) throw err;
        row.problem = { code: err.code, message: err.message };
      }
      rows.push(row);
    }
    if (values.json) {
      io.out(`${toJson({ ok: true, command: 'devices', vfio: present, devices: rows })}\n`);
      return 0;
    }
    if (!present) {
      io.out(
        'no VFIO on this machine (/dev/vfio and /sys/class/vfio-dev are absent): load vfio-pci and bind a device\n',
      );
      return 0;
    }
    if (rows.length === 0) {
      io.out('no devices are bound to a VFIO driver (see /sys/bus/pci/drivers/vfio-pci, or driverctl)\n');
      return 0;
    }
    for (const r of rows) {
      const what = r.mdevType ? `${r.driver ?? '-'} (${r.mdevType})` : (r.driver ?? 'no driver');
      const mig = r.problem
        ? `${r.problem.code}: ${r.problem.message}`
        : `flags ${r.flags?.join(',')}  state ${r.state}${r.stopCopySize !== null ? `  stop-copy ~${r.stopCopySize} B` : ''}`;
      io.out(`${r.spec}  ${r.name}  ${what}\n    ${mig}\n${r.advice ? `    ! ${r.advice}\n` : ''}`);
    }
    return 0;
  },
});
