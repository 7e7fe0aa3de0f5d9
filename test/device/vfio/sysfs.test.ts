// Discovery from a fake sysfs and /dev tree shaped like the kernel's (relative symlinks included).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/run-cli.ts';
import { listVfioDevices, normaliseBdf, resolveVfioTarget } from '../../../src/device/vfio/sysfs.ts';

const UUID = '5d449992-4e52-485d-9d52-3cc36eb3f6aa';
let root: string;
/** Every scratch tree made here, removed after the file's tests. */
const scratch: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  scratch.push(d);
  return d;
};
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});
let sys: string;
let dev: string;

function link(target: string, at: string) {
  mkdirSync(path.dirname(at), { recursive: true });
  symlinkSync(target, at);
}
function file(at: string, text = '') {
  mkdirSync(path.dirname(at), { recursive: true });
  writeFileSync(at, text);
}

beforeAll(() => {
  root = tempDir('vfm-sysfs-');
  sys = path.join(root, 'sys');
  dev = path.join(root, 'dev');
  // An mtty mdev with a cdev (vfio0) in IOMMU group 0.
  const m = path.join(sys, 'devices/virtual/mtty/mtty', UUID);
  mkdirSync(path.join(m, 'vfio-dev/vfio0'), { recursive: true });
  mkdirSync(path.join(sys, 'bus/mdev/drivers/mtty'), { recursive: true });
  mkdirSync(path.join(sys, 'kernel/iommu_groups/0'), { recursive: true });
  link('../../../../../bus/mdev/drivers/mtty', path.join(m, 'driver'));
  link('../../../../../kernel/iommu_groups/0', path.join(m, 'iommu_group'));
  link('../mdev_supported_types/mtty-2', path.join(m, 'mdev_type'));
  link('../../../../../bus/mdev', path.join(m, 'subsystem'));
  link('../../../5d449992-4e52-485d-9d52-3cc36eb3f6aa', path.join(m, 'vfio-dev/vfio0/device'));
  link(`../../devices/virtual/mtty/mtty/${UUID}/vfio-dev/vfio0`, path.join(sys, 'class/vfio-dev/vfio0'));
  link(`../../../devices/virtual/mtty/mtty/${UUID}`, path.join(sys, 'bus/mdev/devices', UUID));
  link(`../../../../devices/virtual/mtty/mtty/${UUID}`, path.join(sys, 'kernel/iommu_groups/0/devices', UUID));
  // A PCI VF on mlx5_vfio_pci reachable only through group 7 (a kernel without the cdev), and its PF on mlx5_core.
  for (const [bdf, driver, group] of [
    ['0000:3b:00.1', 'mlx5_vfio_pci', '7'],
    ['0000:3b:00.0', 'mlx5_core', '6'],
  ] as const) {
    const p = path.join(sys, 'devices/pci0000:00', bdf);
    mkdirSync(path.join(sys, 'bus/pci/drivers', driver), { recursive: true });
    mkdirSync(path.join(sys, 'kernel/iommu_groups', group), { recursive: true });
    link(`../../../bus/pci/drivers/${driver}`, path.join(p, 'driver'));
    link(`../../../kernel/iommu_groups/${group}`, path.join(p, 'iommu_group'));
    link('../../../bus/pci', path.join(p, 'subsystem'));
    file(path.join(p, 'vendor'), '0x15b3\n');
    file(path.join(p, 'device'), '0x101e\n');
    link(`../../../devices/pci0000:00/${bdf}`, path.join(sys, 'bus/pci/devices', bdf));
    link(`../../../../devices/pci0000:00/${bdf}`, path.join(sys, 'kernel/iommu_groups', group, 'devices', bdf));
  }
  for (const n of ['vfio/vfio', 'vfio/0', 'vfio/7', 'vfio/devices/vfio0']) file(path.join(dev, n));
});

const roots = () => ({ sysfs: sys, dev });

describe('device discovery', () => {
  it('lists cdev devices and group-only devices bound to VFIO drivers, not the others', () => {
    const list = listVfioDevices(roots());
    expect(list.map((e) => e.name)).toEqual(['0000:3b:00.1', UUID]);
    const [vf, mdev] = list;
    expect(vf).toMatchObject({
      bus: 'pci',
      driver: 'mlx5_vfio_pci',
      cdevPath: null,
      iommuGroup: '7',
      groupPath: path.join(dev, 'vfio/7'),
      vendorId: '0x15b3',
    });
    expect(mdev).toMatchObject({
      bus: 'mdev',
      driver: 'mtty',
      cdevName: 'vfio0',
      cdevPath: path.join(dev, 'vfio/devices/vfio0'),
      groupPath: path.join(dev, 'vfio/0'),
      mdevType: 'mtty-2',
    });
  });

  it('resolves a cdev path, a vfio name and an mdev UUID (any case) to the cdev', () => {
    for (const t of [path.join(dev, 'vfio/devices/vfio0'), 'vfio0', UUID, UUID.toUpperCase()]) {
      const r = resolveVfioTarget(t, roots());
      expect(r.via, t).toBe('cdev');
      expect(r.entry.name).toBe(UUID);
    }
    expect(resolveVfioTarget(UUID, { ...roots(), prefer: 'group' }).via).toBe('group');
  });

  it('resolves a PCI address with or without its domain, and a group node, to the group', () => {
    for (const t of ['3b:00.1', '0000:3B:00.1', path.join(dev, 'vfio/7')]) {
      const r = resolveVfioTarget(t, roots());
      expect(r.via, t).toBe('group');
      expect(r.entry.name).toBe('0000:3b:00.1');
    }
    expect(normaliseBdf('3B:00.1')).toBe('0000:3b:00.1');
    expect(normaliseBdf('3b:00.8')).toBeNull();
  });

  it('says why a device cannot be used', () => {
    expect(() => resolveVfioTarget('3b:00.0', roots())).toThrow(
      expect.objectContaining({ code: 'VFM_VFIO_NOT_BOUND' }),
    );
    expect(() => resolveVfioTarget('3b:00.0', roots())).toThrow(/mlx5_core.*vfio-pci/s);
    expect(() => resolveVfioTarget('ff:00.0', roots())).toThrow(
      expect.objectContaining({ code: 'VFM_VFIO_DEVICE_NOT_FOUND' }),
    );
    expect(() => resolveVfioTarget('vfio9', roots())).toThrow(
      expect.objectContaining({ code: 'VFM_VFIO_DEVICE_NOT_FOUND' }),
    );
    expect(() => resolveVfioTarget('nonsense', roots())).toThrow(expect.objectContaining({ code: 'VFM_DEVICE_SPEC' }));
    expect(() => resolveVfioTarget('3b:00.1', { ...roots(), prefer: 'cdev' })).toThrow(/no VFIO cdev/);
    const empty = tempDir('vfm-empty-');
    expect(() => resolveVfioTarget('3b:00.1', { sysfs: empty, dev: empty })).toThrow(
      expect.objectContaining({ code: 'VFM_VFIO_UNAVAILABLE' }),
    );
  });
});

function io(env: Record<string, string>) {
  let out = '';
  let err = '';
  return {
    io: {
      out: (t: string) => void (out += t),
      err: (t: string) => void (err += t),
      errIsTTY: false,
      env,
      signal: new AbortController().signal,
    },
    out: () => out,
    err: () => err,
  };
}

describe('vfio-migrate devices', () => {
  it('says plainly when VFIO is absent', async () => {
    const empty = tempDir('vfm-empty-');
    const c = io({ VFIO_MIGRATE_SYSFS: empty, VFIO_MIGRATE_DEVFS: empty });
    expect(await runCli(['devices'], c.io)).toBe(0);
    expect(c.out()).toMatch(/no VFIO on this machine/);
    const j = io({ VFIO_MIGRATE_SYSFS: empty, VFIO_MIGRATE_DEVFS: empty });
    expect(await runCli(['devices', '--json'], j.io)).toBe(0);
    expect(JSON.parse(j.out())).toEqual({ ok: true, command: 'devices', vfio: false, devices: [] });
  });

  it('lists the devices and reports per device why it could not be opened', async () => {
    const c = io({ VFIO_MIGRATE_SYSFS: sys, VFIO_MIGRATE_DEVFS: dev });
    expect(await runCli(['devices', '--json'], c.io)).toBe(0);
    const { devices } = JSON.parse(c.out()) as {
      devices: { name: string; driver: string; problem: { code: string } }[];
    };
    expect(devices.map((d) => [d.name, d.driver])).toEqual([
      ['0000:3b:00.1', 'mlx5_vfio_pci'],
      [UUID, 'mtty'],
    ]);
    // The fake nodes are plain files: no /dev/iommu (cdev), and the group ioctls answer ENOTTY.
    for (const d of devices) expect(d.problem?.code).toMatch(/^VFM_/);
  });
});
