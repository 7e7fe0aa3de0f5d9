// errno from a VFIO system call to a typed error with a stable code. The same errno means different things depending
// on the call (EINVAL from a second cdev bind means "someone else has the device", from RESUMING -> STOP it means
// "the device refused the state"), so the mapping takes the kind of call, not just the number.
import {
  DeviceRejectedStreamError,
  MigrationUnsupportedError,
  SessionClosedError,
  VfioDataIoError,
  VfioDeviceBusyError,
  VfioDeviceNotFoundError,
  type VfioFailureInfo,
  VfioInvalidRequestError,
  VfioIommuError,
  type VfioMigrateError,
  VfioPermissionError,
  VfioSyscallError,
  VfioUnavailableError,
} from '../../errors.ts';

/** Linux errno numbers (asm-generic: x86-64, arm64, riscv64 agree on all of these). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ENOSYS: 38,
  ENOMSG: 42,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
} as const;

const NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/** Node reports fs errors with a negative `errno` and a `code` name; normalise to the positive number. */
export function errnoFromNodeError(err: unknown): number | undefined {
  const e = err as { errno?: unknown; code?: unknown };
  if (typeof e?.errno === 'number') return Math.abs(e.errno);
  if (typeof e?.code === 'string' && e.code in Errno) return Errno[e.code as keyof typeof Errno];
  return undefined;
}

/** What kind of call failed: decides what an errno means. */
export type CallKind =
  /** open() of a VFIO device, group or container node, or /dev/iommu. */
  | 'open-node'
  /** VFIO_DEVICE_BIND_IOMMUFD on a cdev. */
  | 'bind'
  /** IOAS allocation and attach, group status, container and IOMMU type: the IOMMU setup. */
  | 'iommu'
  /** VFIO_GROUP_GET_DEVICE_FD. */
  | 'group-device'
  /** VFIO_DEVICE_FEATURE for migration features, other device ioctls. */
  | 'feature'
  /** The MIG_DEVICE_STATE SET for RESUMING -> STOP, where the device validates what was written. */
  | 'resume-finish'
  /** VFIO_MIG_GET_PRECOPY_INFO on the data fd. */
  | 'precopy-info'
  /** read() on a saving data fd. */
  | 'save-read'
  /** write() on a resuming data fd. */
  | 'resume-write'
  /** VFIO_DEVICE_RESET and anything else. */
  | 'other';

export interface ErrnoContext {
  kind: CallKind;
  operation: string;
  device?: string | undefined;
  /** Bytes the resuming session had accepted (resume-write, resume-finish). */
  acceptedBytes?: number | undefined;
}

const PERMISSION_ADVICE =
  'VFIO nodes are root-only by default: run as root, or give your user the device nodes ' +
  '(e.g. a udev rule: SUBSYSTEM=="vfio", OWNER="you"; chown on /dev/vfio/N or /dev/vfio/devices/vfioN and /dev/iommu)';

/** The typed error for `errno` returned by a call of `ctx.kind`. */
export function errorFromErrno(errno: number, ctx: ErrnoContext): VfioMigrateError {
  const name = errnoName(errno);
  const info: VfioFailureInfo = { operation: ctx.operation, errno, errnoName: name, device: ctx.device };
  const what = `${ctx.operation} failed: ${name}`;
  const dev = ctx.device ? ` (${ctx.device})` : '';

  if (errno === Errno.EPERM || errno === Errno.EACCES) {
    const advice =
      ctx.kind === 'iommu' || ctx.kind === 'bind'
        ? `${PERMISSION_ADVICE}; no-IOMMU mode also needs CAP_SYS_RAWIO`
        : PERMISSION_ADVICE;
    return new VfioPermissionError(`${what}${dev}`, { ...info, advice });
  }

  switch (ctx.kind) {
    case 'open-node':
      if (errno === Errno.ENOENT || errno === Errno.ENXIO || errno === Errno.ENODEV) {
        return new VfioDeviceNotFoundError(`${what}${dev}`, {
          ...info,
          advice: "the node does not exist: check the device with 'vfio-migrate devices'",
        });
      }
      if (errno === Errno.EBUSY) {
        return new VfioDeviceBusyError(`${what}${dev}`, {
          ...info,
          advice: 'another process (a VMM?) has the device or its group open; stop it or migrate through it',
        });
      }
      break;
    case 'bind':
      // The cdev path allows one open at a time: a second bind answers EINVAL; EBUSY when the group is in use.
      if (errno === Errno.EINVAL || errno === Errno.EBUSY) {
        return new VfioDeviceBusyError(`${what}${dev}`, {
          ...info,
          advice: 'the device is already open through its cdev or its group by another process (a VMM?)',
        });
      }
      if (errno === Errno.ENODEV || errno === Errno.ENOENT || errno === Errno.ENXIO) {
        return new VfioIommuError(`${what}${dev}`, {
          ...info,
          advice: 'iommufd could not take the device: is the iommufd module loaded and the device behind an IOMMU?',
        });
      }
      break;
    case 'iommu':
      if (errno === Errno.EBUSY) {
        return new VfioDeviceBusyError(`${what}${dev}`, {
          ...info,
          advice: 'the group or container is already in use by another process',
        });
      }
      return new VfioIommuError(`${what}${dev}`, {
        ...info,
        advice:
          'check that the IOMMU is enabled (intel_iommu=on / amd_iommu=on on the kernel command line), that every ' +
          'device of the IOMMU group is bound to a VFIO driver (or unbound), and that vfio_iommu_type1 or iommufd ' +
          'is loaded',
      });
    case 'group-device':
      if (errno === Errno.ENODEV || errno === Errno.ENOENT || errno === Errno.EINVAL) {
        return new VfioDeviceNotFoundError(`${what}${dev}`, {
          ...info,
          advice: 'the group holds no VFIO device of that name',
        });
      }
      if (errno === Errno.EBUSY) {
        return new VfioDeviceBusyError(`${what}${dev}`, {
          ...info,
          advice: 'the device is open through its cdev by another process',
        });
      }
      break;
    case 'feature':
      if (errno === Errno.ENOTTY || errno === Errno.EOPNOTSUPP) {
        return new MigrationUnsupportedError(
          `${what}${dev}: the device's driver has no migration support (bind a migration-capable variant driver, ` +
            'e.g. mlx5_vfio_pci, hisi_acc_vfio_pci, pds_vfio_pci, qat_vfio_pci, virtio_vfio_pci)',
          { cause: new VfioSyscallError(what, info) },
        );
      }
      if (errno === Errno.EINVAL) return new VfioInvalidRequestError(`${what}${dev}`, info);
      break;
    case 'resume-finish':
      if (errno === Errno.EINVAL || errno === Errno.EFAULT || errno === Errno.ENOMEM || errno === Errno.EIO) {
        return new DeviceRejectedStreamError(
          `the device refused the state written into it (${name} leaving RESUMING${
            ctx.acceptedBytes !== undefined ? ` after ${ctx.acceptedBytes} bytes` : ''
          }: incomplete, corrupt or from another device type)${dev}; it stays in RESUMING and only a reset recovers it`,
          { ...info, acceptedBytes: ctx.acceptedBytes },
        );
      }
      break;
    case 'precopy-info':
      if (errno === Errno.EINVAL) return new VfioInvalidRequestError(`${what}${dev}: not in a PRE_COPY state`, info);
      if (errno === Errno.ENODEV) return new SessionClosedError(`${what}${dev}: the saving session has ended`);
      if (errno === Errno.ENOTTY) return new VfioInvalidRequestError(`${what}${dev}: not a pre-copy data fd`, info);
      break;
    case 'save-read':
      if (errno === Errno.ENODEV) return new SessionClosedError(`${what}${dev}: the saving session has ended`);
      return new VfioDataIoError(`${what}${dev}`, info);
    case 'resume-write':
      if (errno === Errno.ENODEV) return new SessionClosedError(`${what}${dev}: the resuming session has ended`);
      // Drivers validate as they take the bytes: mtty answers EFAULT to a foreign header and ENOMEM past its size,
      // mlx5 and hisi_acc EINVAL or ENOMEM; all of them mean the stream is not for this device.
      if (
        errno === Errno.EFAULT ||
        errno === Errno.ENOMEM ||
        errno === Errno.EINVAL ||
        errno === Errno.EIO ||
        errno === Errno.ENOSPC
      ) {
        return new DeviceRejectedStreamError(
          `the device refused the migration data (${name} writing at byte ${ctx.acceptedBytes ?? '?'}: ` +
            `a stream from another device type, a different driver version, or corrupt data)${dev}; ` +
            'the device stays in RESUMING and only a reset recovers it',
          { ...info, acceptedBytes: ctx.acceptedBytes },
        );
      }
      return new VfioDataIoError(`${what}${dev}`, info);
    case 'other':
      if (errno === Errno.EINVAL) return new VfioInvalidRequestError(`${what}${dev}`, info);
      break;
  }
  if (errno === Errno.ENODEV) {
    return new VfioDeviceNotFoundError(`${what}${dev}`, { ...info, advice: 'the device has gone away' });
  }
  if (errno === Errno.EBUSY) return new VfioDeviceBusyError(`${what}${dev}`, info);
  if (errno === Errno.EBADF) return new SessionClosedError(`${what}${dev}: the file descriptor is closed`);
  return new VfioSyscallError(`${what}${dev}`, info);
}

/** errno from opening a top-level VFIO node (/dev/vfio/vfio, /dev/iommu): missing means VFIO is not set up. */
export function unavailableFromErrno(errno: number, node: string, advice: string): VfioMigrateError {
  if (errno === Errno.ENOENT || errno === Errno.ENXIO || errno === Errno.ENODEV) {
    return new VfioUnavailableError(`open(${node}) failed: ${errnoName(errno)}`, {
      operation: `open(${node})`,
      errno,
      errnoName: errnoName(errno),
      advice,
    });
  }
  return errorFromErrno(errno, { kind: 'open-node', operation: `open(${node})` });
}
