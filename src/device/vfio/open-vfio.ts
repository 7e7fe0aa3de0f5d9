// `vfio:TARGET[,via=cdev|group][,device=NAME]` to an open VfioBackend. TARGET is /dev/vfio/devices/vfioN, vfioN,
// /dev/vfio/GROUP, a PCI address or an mdev UUID. The cdev is bound to a fresh iommufd with its own IOAS; where the
// kernel has no cdev (or via=group asks for it) the legacy group joins a new container with a type1 (or no-IOMMU)
// backend. Every failure names what the kernel refused and what the user can do.
import { DeviceSpecError, VfioIommuError, VfioUnavailableError } from '../../errors.ts';
import type { OperationOptions } from '../types.ts';
import { errnoName, errorFromErrno, unavailableFromErrno } from './errno.ts';
import { type Libc, loadLibc } from './ffi.ts';
import { resolveVfioTarget, type SysfsRoots, type VfioDeviceEntry } from './sysfs.ts';
import {
  decodeAttachIommufdPt,
  decodeBindIommufd,
  decodeGroupStatus,
  decodeIoasAlloc,
  encodeAttachIommufdPt,
  encodeBindIommufd,
  encodeCString,
  encodeFdArg,
  encodeGroupStatus,
  encodeIoasAlloc,
  GroupFlag,
  Ioctl,
  IommuType,
  OpenFlag,
  VFIO_API_VERSION,
} from './uapi.ts';
import { VfioBackend, type VfioHandle } from './vfio-backend.ts';

export interface OpenVfioOptions extends OperationOptions, SysfsRoots {}

export interface VfioSpec {
  target: string;
  via?: 'cdev' | 'group' | undefined;
  device?: string | undefined;
}

/** Parses what follows `vfio:`. */
export function parseVfioSpec(rest: string): VfioSpec {
  const [target, ...params] = rest.split(',');
  if (!target) throw new DeviceSpecError('vfio: needs a device: vfio:/dev/vfio/devices/vfioN, vfio:BDF or vfio:UUID');
  const spec: VfioSpec = { target };
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? '' : p.slice(eq + 1);
    if (key === 'via' && (value === 'cdev' || value === 'group')) spec.via = value;
    else if (key === 'device' && value) spec.device = value;
    else {
      throw new DeviceSpecError(
        `unknown vfio device option ${JSON.stringify(p)}: expected via=cdev|group or device=NAME (for a group node)`,
      );
    }
  }
  return spec;
}

function openNode(libc: Libc, node: string, device: string): number {
  const r = libc.open(node, OpenFlag.RDWR | OpenFlag.CLOEXEC);
  if (r.ret < 0) throw errorFromErrno(r.errno, { kind: 'open-node', operation: `open(${node})`, device });
  return r.ret;
}

function closeAll(libc: Libc, fds: number[]): void {
  for (const fd of [...fds].reverse()) libc.close(fd);
}

function openThroughCdev(libc: Libc, entry: VfioDeviceEntry, id: string, devRoot: string): VfioHandle {
  const node = entry.cdevPath!;
  const owned: number[] = [];
  const deviceFd = openNode(libc, node, id);
  try {
    const iommuNode = `${devRoot}/iommu`;
    const io = libc.open(iommuNode, OpenFlag.RDWR | OpenFlag.CLOEXEC);
    if (io.ret < 0) {
      throw unavailableFromErrno(
        io.errno,
        iommuNode,
        'the device cdev needs iommufd: modprobe iommufd (or open the device through its group: ,via=group)',
      );
    }
    owned.push(io.ret);
    const bind = encodeBindIommufd(io.ret);
    let r = libc.ioctlPtr(deviceFd, Ioctl.VFIO_DEVICE_BIND_IOMMUFD, bind);
    if (r.ret < 0) throw errorFromErrno(r.errno, { kind: 'bind', operation: 'VFIO_DEVICE_BIND_IOMMUFD', device: id });
    const ioas = encodeIoasAlloc();
    r = libc.ioctlPtr(io.ret, Ioctl.IOMMU_IOAS_ALLOC, ioas);
    if (r.ret < 0) throw errorFromErrno(r.errno, { kind: 'iommu', operation: 'IOMMU_IOAS_ALLOC', device: id });
    const { ioasId } = decodeIoasAlloc(ioas);
    // An empty IOAS: the device can reach no memory of ours, which is all migration needs (state moves over the fd).
    const attach = encodeAttachIommufdPt(ioasId);
    r = libc.ioctlPtr(deviceFd, Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach);
    if (r.ret < 0) {
      throw errorFromErrno(r.errno, { kind: 'iommu', operation: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', device: id });
    }
    return {
      libc,
      deviceFd,
      via: 'cdev',
      node,
      entry,
      ownedFds: owned,
      iommu: {
        iommufd: iommuNode,
        devId: decodeBindIommufd(bind).devId,
        ioasId,
        ptId: decodeAttachIommufdPt(attach).ptId,
      },
    };
  } catch (err) {
    libc.close(deviceFd);
    closeAll(libc, owned);
    throw err;
  }
}

function openThroughGroup(libc: Libc, entry: VfioDeviceEntry, id: string, devRoot: string): VfioHandle {
  const node = entry.groupPath!;
  const noIommu = /\/noiommu-\d+$/.test(node);
  const owned: number[] = [];
  const containerNode = `${devRoot}/vfio/vfio`;
  const c = libc.open(containerNode, OpenFlag.RDWR | OpenFlag.CLOEXEC);
  if (c.ret < 0) {
    throw unavailableFromErrno(c.errno, containerNode, 'load the VFIO modules: modprobe vfio vfio_iommu_type1');
  }
  owned.push(c.ret);
  try {
    let r = libc.ioctlVal(c.ret, Ioctl.VFIO_GET_API_VERSION, 0);
    if (r.ret < 0) {
      throw new VfioUnavailableError(`${containerNode} is not a VFIO container (${errnoName(r.errno)})`, {
        device: id,
        operation: 'VFIO_GET_API_VERSION',
        errno: r.errno,
        errnoName: errnoName(r.errno),
      });
    }
    if (r.ret !== VFIO_API_VERSION) {
      throw new VfioIommuError(`${containerNode} speaks VFIO API ${r.ret}, not ${VFIO_API_VERSION}`, { device: id });
    }
    const groupFd = openNode(libc, node, id);
    owned.push(groupFd);
    const status = encodeGroupStatus();
    r = libc.ioctlPtr(groupFd, Ioctl.VFIO_GROUP_GET_STATUS, status);
    if (r.ret < 0) throw errorFromErrno(r.errno, { kind: 'iommu', operation: 'VFIO_GROUP_GET_STATUS', device: id });
    const { flags } = decodeGroupStatus(status);
    if ((flags & GroupFlag.VIABLE) === 0) {
      throw new VfioIommuError(`IOMMU group ${entry.iommuGroup} is not viable`, {
        device: id,
        operation: 'VFIO_GROUP_GET_STATUS',
        advice: `bind every device of the group (ls /sys/kernel/iommu_groups/${entry.iommuGroup}/devices) to a VFIO driver or unbind it`,
      });
    }
    if ((flags & GroupFlag.CONTAINER_SET) !== 0) {
      throw errorFromErrno(16, { kind: 'iommu', operation: 'VFIO_GROUP_GET_STATUS', device: id });
    }
    r = libc.ioctlPtr(groupFd, Ioctl.VFIO_GROUP_SET_CONTAINER, encodeFdArg(c.ret));
    if (r.ret < 0) throw errorFromErrno(r.errno, { kind: 'iommu', operation: 'VFIO_GROUP_SET_CONTAINER', device: id });
    let type: number = IommuType.NOIOMMU;
    if (!noIommu) {
      type =
        libc.ioctlVal(c.ret, Ioctl.VFIO_CHECK_EXTENSION, IommuType.TYPE1v2).ret > 0
          ? IommuType.TYPE1v2
          : IommuType.TYPE1;
    }
    r = libc.ioctlVal(c.ret, Ioctl.VFIO_SET_IOMMU, type);
    if (r.ret < 0) throw errorFromErrno(r.errno, { kind: 'iommu', operation: `VFIO_SET_IOMMU(${type})`, device: id });
    r = libc.ioctlPtr(groupFd, Ioctl.VFIO_GROUP_GET_DEVICE_FD, encodeCString(entry.name));
    if (r.ret < 0) {
      throw errorFromErrno(r.errno, {
        kind: 'group-device',
        operation: `VFIO_GROUP_GET_DEVICE_FD(${entry.name})`,
        device: id,
      });
    }
    return {
      libc,
      deviceFd: r.ret,
      via: 'group',
      node,
      entry,
      ownedFds: owned,
      iommu: { container: containerNode, group: node, iommuType: type },
    };
  } catch (err) {
    closeAll(libc, owned);
    throw err;
  }
}

/** Resolves and opens the device; the backend reads its flags and state when MigrationDevice.open wraps it. */
export async function openVfioBackend(rest: string, opts: OpenVfioOptions = {}): Promise<VfioBackend> {
  const spec = parseVfioSpec(rest);
  const { entry, via } = resolveVfioTarget(spec.target, { ...opts, prefer: spec.via, device: spec.device });
  const libc = await loadLibc();
  const id = `vfio:${rest}`;
  const devRoot = opts.dev ?? '/dev';
  const handle =
    via === 'cdev' ? openThroughCdev(libc, entry, id, devRoot) : openThroughGroup(libc, entry, id, devRoot);
  return new VfioBackend(id, handle);
}
