// Finding VFIO devices through sysfs: from a cdev path, a group node, a PCI address or an mdev UUID to the device's
// sysfs directory, its driver, IOMMU group and the nodes that open it. The roots are parameters so tests use a fake
// tree.
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  DeviceSpecError,
  VfioDeviceNotBoundError,
  VfioDeviceNotFoundError,
  VfioUnavailableError,
} from '../../errors.ts';

export interface SysfsRoots {
  /** Where sysfs is mounted: `/sys` (tests: a tmp dir). */
  sysfs?: string | undefined;
  /** Where the device nodes are: `/dev` (tests: a tmp dir). */
  dev?: string | undefined;
}

export interface VfioDeviceEntry {
  /** The device's name in its bus: a PCI address (0000:3b:00.1), an mdev UUID, a platform name. */
  name: string;
  bus: 'pci' | 'mdev' | 'other';
  /** The sysfs directory of the device (resolved). */
  sysfsPath: string;
  /** Bound driver (vfio-pci, mlx5_vfio_pci, mtty...), or null when unbound. */
  driver: string | null;
  /** The vfio-dev name (vfio0) when the kernel has the cdev interface for this device. */
  cdevName: string | null;
  /** /dev/vfio/devices/vfioN, when it exists. */
  cdevPath: string | null;
  /** IOMMU group number (or noiommu-N name), null without a group. */
  iommuGroup: string | null;
  /** /dev/vfio/N (or /dev/vfio/noiommu-N), when it exists. */
  groupPath: string | null;
  /** For mdevs: the type (mtty-2...). */
  mdevType: string | null;
  /** For PCI devices: vendor and device IDs (0x15b3, 0x101e). */
  vendorId: string | null;
  deviceId: string | null;
}

const BDF_RE = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function roots(r: SysfsRoots | undefined): { sys: string; dev: string } {
  return { sys: r?.sysfs ?? '/sys', dev: r?.dev ?? '/dev' };
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function linkBase(p: string): string | null {
  try {
    return path.basename(readlinkSync(p));
  } catch {
    return null;
  }
}

function readTrim(p: string): string | null {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return null;
  }
}

function list(p: string): string[] {
  try {
    return readdirSync(p).sort(naturalCompare);
  } catch {
    return [];
  }
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Normalises a PCI address to the domain-qualified lower-case form sysfs uses, or null when `text` is not one. */
export function normaliseBdf(text: string): string | null {
  const m = BDF_RE.exec(text);
  if (!m) return null;
  return `${(m[1] ?? '0000').toLowerCase()}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}.${m[4]}`;
}

export function isMdevUuid(text: string): boolean {
  return UUID_RE.test(text);
}

/** Reads one device's facts from its sysfs directory. */
export function describeSysfsDevice(sysfsPath: string, r?: SysfsRoots): VfioDeviceEntry {
  const { dev } = roots(r);
  const real = realpathSync(sysfsPath);
  const name = path.basename(real);
  const subsystem = linkBase(path.join(real, 'subsystem'));
  const bus: VfioDeviceEntry['bus'] = subsystem === 'pci' ? 'pci' : subsystem === 'mdev' ? 'mdev' : 'other';
  const cdevName = list(path.join(real, 'vfio-dev')).find((n) => /^vfio\d+$/.test(n)) ?? null;
  const cdevCandidate = cdevName ? path.join(dev, 'vfio', 'devices', cdevName) : null;
  const iommuGroup = linkBase(path.join(real, 'iommu_group'));
  let groupPath: string | null = null;
  if (iommuGroup !== null) {
    for (const candidate of [iommuGroup, `noiommu-${iommuGroup}`]) {
      const p = path.join(dev, 'vfio', candidate);
      if (exists(p)) {
        groupPath = p;
        break;
      }
    }
  }
  const vendorId = bus === 'pci' ? readTrim(path.join(real, 'vendor')) : null;
  const deviceId = bus === 'pci' ? readTrim(path.join(real, 'device')) : null;
  return {
    name,
    bus,
    sysfsPath: real,
    driver: linkBase(path.join(real, 'driver')),
    cdevName,
    cdevPath: cdevCandidate && exists(cdevCandidate) ? cdevCandidate : null,
    iommuGroup,
    groupPath,
    mdevType: bus === 'mdev' ? linkBase(path.join(real, 'mdev_type')) : null,
    vendorId,
    deviceId,
  };
}

/** Whether VFIO is present at all: the container node, a group, or the cdev class. */
export function vfioPresent(r?: SysfsRoots): boolean {
  const { sys, dev } = roots(r);
  return exists(path.join(dev, 'vfio')) || exists(path.join(sys, 'class', 'vfio-dev'));
}

/**
 * Every device that has a VFIO node: those with a cdev (/sys/class/vfio-dev) and those reachable only through a
 * group (/dev/vfio/N lists its devices in /sys/kernel/iommu_groups/N/devices). Sorted by name.
 */
export function listVfioDevices(r?: SysfsRoots): VfioDeviceEntry[] {
  const { sys, dev } = roots(r);
  const byPath = new Map<string, VfioDeviceEntry>();
  for (const n of list(path.join(sys, 'class', 'vfio-dev'))) {
    const devLink = path.join(sys, 'class', 'vfio-dev', n, 'device');
    if (!exists(devLink)) continue;
    const e = describeSysfsDevice(devLink, r);
    byPath.set(e.sysfsPath, e);
  }
  for (const g of list(path.join(dev, 'vfio'))) {
    const m = /^(?:noiommu-)?(\d+)$/.exec(g);
    if (!m) continue;
    for (const d of list(path.join(sys, 'kernel', 'iommu_groups', m[1]!, 'devices'))) {
      const p = path.join(sys, 'kernel', 'iommu_groups', m[1]!, 'devices', d);
      if (!exists(p)) continue;
      const e = describeSysfsDevice(p, r);
      if (byPath.has(e.sysfsPath)) continue;
      // A group node lists every member; only those bound to a VFIO driver can be opened through it.
      if (e.bus === 'mdev' || (e.driver !== null && /vfio/.test(e.driver))) byPath.set(e.sysfsPath, e);
    }
  }
  return [...byPath.values()].sort((a, b) => naturalCompare(a.name, b.name));
}

export interface ResolvedTarget {
  entry: VfioDeviceEntry;
  /** How to open it: the cdev (preferred) or the group and container. */
  via: 'cdev' | 'group';
}

/**
 * Resolves what follows `vfio:` (without options) to a device: /dev/vfio/devices/vfioN, vfioN, /dev/vfio/N (a group
 * with one device, or `device` naming it), a PCI address (with or without domain), an mdev UUID, or a sysfs path.
 * `prefer` forces the group path even where a cdev exists.
 */
export function resolveVfioTarget(
  target: string,
  opts: SysfsRoots & { prefer?: 'cdev' | 'group' | undefined; device?: string | undefined } = {},
): ResolvedTarget {
  const { sys, dev } = roots(opts);
  let sysfsPath: string | null = null;
  let forced: 'cdev' | 'group' | undefined = opts.prefer;
  const cdevMatch = /^(?:.*\/)?(vfio\d+)$/.exec(target);
  const groupMatch = new RegExp(`^${escapeRe(path.join(dev, 'vfio'))}/((?:noiommu-)?(\\d+))$`).exec(target);
  const bdf = normaliseBdf(target);

  if (cdevMatch && (target.startsWith(path.join(dev, 'vfio', 'devices')) || !target.includes('/'))) {
    const link = path.join(sys, 'class', 'vfio-dev', cdevMatch[1]!, 'device');
    if (!exists(link)) {
      throw notFound(target, `${cdevMatch[1]} is not in ${path.join(sys, 'class', 'vfio-dev')}`, opts);
    }
    sysfsPath = link;
    forced ??= 'cdev';
  } else if (groupMatch) {
    const members = list(path.join(sys, 'kernel', 'iommu_groups', groupMatch[2]!, 'devices'));
    if (!exists(target)) throw notFound(target, `no group node ${target}`, opts);
    const chosen = opts.device ?? (members.length === 1 ? members[0] : undefined);
    if (!chosen || !members.includes(chosen)) {
      throw new DeviceSpecError(
        `group ${target} has ${members.length === 0 ? 'no devices' : `devices ${members.join(', ')}`}: ` +
          `name one with vfio:${target},device=NAME`,
      );
    }
    sysfsPath = path.join(sys, 'kernel', 'iommu_groups', groupMatch[2]!, 'devices', chosen);
    forced ??= 'group';
  } else if (bdf) {
    sysfsPath = path.join(sys, 'bus', 'pci', 'devices', bdf);
    if (!exists(sysfsPath)) throw notFound(target, `no PCI device ${bdf}`, opts);
  } else if (isMdevUuid(target)) {
    sysfsPath = path.join(sys, 'bus', 'mdev', 'devices', target.toLowerCase());
    if (!exists(sysfsPath)) throw notFound(target, `no mediated device ${target}`, opts);
  } else if (target.startsWith(`${sys}/`) && exists(target)) {
    sysfsPath = target;
  } else {
    throw new DeviceSpecError(
      `cannot tell which device ${JSON.stringify(target)} is: expected /dev/vfio/devices/vfioN, vfioN, /dev/vfio/GROUP, ` +
        'a PCI address (0000:3b:00.1) or an mdev UUID',
    );
  }

  const entry = describeSysfsDevice(sysfsPath, opts);
  if (!entry.cdevPath && !entry.groupPath) {
    if (entry.driver === null || (entry.bus === 'pci' && !/vfio/.test(entry.driver))) {
      throw new VfioDeviceNotBoundError(
        `${entry.name} is ${entry.driver ? `bound to ${entry.driver}` : 'not bound to any driver'}, not to a VFIO driver`,
        {
          device: target,
          advice:
            entry.bus === 'pci'
              ? `bind it to vfio-pci or its vendor's migration driver, e.g. 'driverctl set-override ${entry.name} vfio-pci' ` +
                `or echo ${entry.name} > /sys/bus/pci/drivers/${entry.driver ?? 'DRIVER'}/unbind then write ` +
                `vfio-pci to /sys/bus/pci/devices/${entry.name}/driver_override and probe it`
              : 'bind it to its VFIO driver',
        },
      );
    }
    throw new VfioUnavailableError(`${entry.name} has no VFIO node under ${path.join(dev, 'vfio')}`, {
      device: target,
      advice: 'load the VFIO modules (modprobe vfio-pci; iommufd or vfio_iommu_type1) and check /dev/vfio',
    });
  }
  let via: 'cdev' | 'group' = entry.cdevPath ? 'cdev' : 'group';
  if (forced === 'group') {
    if (!entry.groupPath) throw notFound(target, `${entry.name} has no VFIO group node`, opts);
    via = 'group';
  } else if (forced === 'cdev') {
    if (!entry.cdevPath)
      throw notFound(target, `${entry.name} has no VFIO cdev (kernel without VFIO_DEVICE_CDEV?)`, opts);
    via = 'cdev';
  }
  return { entry, via };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function notFound(target: string, why: string, r: SysfsRoots): Error {
  if (!vfioPresent(r)) {
    return new VfioUnavailableError(`VFIO is not available on this machine (${why})`, {
      device: target,
      advice:
        'load the VFIO modules (modprobe vfio-pci; iommufd or vfio_iommu_type1) and bind the device to a VFIO driver',
    });
  }
  return new VfioDeviceNotFoundError(`device ${target} not found: ${why}`, {
    device: target,
    advice: "list the VFIO devices with 'vfio-migrate devices'",
  });
}
