// The VFIO and iommufd uAPI as plain numbers and byte layouts (include/uapi/linux/vfio.h, iommufd.h). Every struct
// is encoded over a DataView in the CPU's byte order; the kernel reads them with copy_from_user as laid out in C, so
// offsets here follow the C layout exactly (aligned_u64 fields are 8-aligned).

/** Every VFIO and iommufd request is `_IO(';', nr)`: no size or direction bits, only type and number. */
export const VFIO_TYPE = 0x3b; // ';'
export const VFIO_BASE = 100;
const IOC_TYPESHIFT = 8;

/** `_IO(type, nr)` of asm-generic/ioctl.h: direction 0 and size 0, so only the type and number bits are set. */
export function ioNone(type: number, nr: number): number {
  return ((type << IOC_TYPESHIFT) | nr) >>> 0;
}

const vfio = (n: number) => ioNone(VFIO_TYPE, VFIO_BASE + n);

export const Ioctl = {
  VFIO_GET_API_VERSION: vfio(0),
  VFIO_CHECK_EXTENSION: vfio(1),
  VFIO_SET_IOMMU: vfio(2),
  VFIO_GROUP_GET_STATUS: vfio(3),
  VFIO_GROUP_SET_CONTAINER: vfio(4),
  VFIO_GROUP_UNSET_CONTAINER: vfio(5),
  VFIO_GROUP_GET_DEVICE_FD: vfio(6),
  VFIO_DEVICE_GET_INFO: vfio(7),
  VFIO_DEVICE_GET_REGION_INFO: vfio(8),
  VFIO_DEVICE_RESET: vfio(11),
  VFIO_DEVICE_FEATURE: vfio(17),
  VFIO_DEVICE_BIND_IOMMUFD: vfio(18),
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: vfio(19),
  VFIO_DEVICE_DETACH_IOMMUFD_PT: vfio(20),
  VFIO_MIG_GET_PRECOPY_INFO: vfio(21),
  IOMMU_DESTROY: ioNone(VFIO_TYPE, 0x80),
  IOMMU_IOAS_ALLOC: ioNone(VFIO_TYPE, 0x81),
} as const;
export type IoctlName = keyof typeof Ioctl;

export const VFIO_API_VERSION = 0;

/** IOMMU types for VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU on a container. */
export const IommuType = {
  TYPE1: 1,
  TYPE1v2: 3,
  NOIOMMU: 8,
} as const;

export const GroupFlag = {
  VIABLE: 1 << 0,
  CONTAINER_SET: 1 << 1,
} as const;

export const DeviceInfoFlag = {
  RESET: 1 << 0,
  PCI: 1 << 1,
  PLATFORM: 1 << 2,
  AMBA: 1 << 3,
  CCW: 1 << 4,
  AP: 1 << 5,
  FSL_MC: 1 << 6,
  CAPS: 1 << 7,
  CDX: 1 << 8,
} as const;

export const RegionInfoFlag = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  MMAP: 1 << 2,
  CAPS: 1 << 3,
} as const;

/** VFIO_PCI_*_REGION_INDEX. */
export const PciRegion = {
  BAR0: 0,
  BAR1: 1,
  BAR2: 2,
  BAR3: 3,
  BAR4: 4,
  BAR5: 5,
  ROM: 6,
  CONFIG: 7,
  VGA: 8,
} as const;

/** vfio_device_feature.flags: the low 16 bits select the feature, these bits the access. */
export const FeatureFlag = {
  MASK: 0xffff,
  GET: 1 << 16,
  SET: 1 << 17,
  PROBE: 1 << 18,
} as const;

export const Feature = {
  PCI_VF_TOKEN: 0,
  MIGRATION: 1,
  MIG_DEVICE_STATE: 2,
  LOW_POWER_ENTRY: 3,
  LOW_POWER_ENTRY_WITH_WAKEUP: 4,
  LOW_POWER_EXIT: 5,
  DMA_LOGGING_START: 6,
  DMA_LOGGING_STOP: 7,
  DMA_LOGGING_REPORT: 8,
  MIG_DATA_SIZE: 9,
  BUS_MASTER: 10,
} as const;

/** vfio_precopy_info.flags output bit (newer kernels): new initial data appeared. */
export const PRECOPY_INFO_REINIT = 1 << 0;

// ---- struct layouts (sizes in bytes) ---------------------------------------------------------------------------

/** struct vfio_device_feature header: u32 argsz, u32 flags, then data[]. */
export const FEATURE_HEADER_SIZE = 8;
/** struct vfio_device_feature_migration: aligned_u64 flags. */
export const FEATURE_MIGRATION_SIZE = 8;
/** struct vfio_device_feature_mig_state: u32 device_state, s32 data_fd. */
export const FEATURE_MIG_STATE_SIZE = 8;
/** struct vfio_device_feature_mig_data_size: aligned_u64 stop_copy_length. */
export const FEATURE_MIG_DATA_SIZE_SIZE = 8;
/** struct vfio_precopy_info: u32 argsz, u32 flags, aligned_u64 initial_bytes, aligned_u64 dirty_bytes. */
export const PRECOPY_INFO_SIZE = 24;
/** struct vfio_group_status: u32 argsz, u32 flags. */
export const GROUP_STATUS_SIZE = 8;
/** struct vfio_device_info: argsz, flags, num_regions, num_irqs, cap_offset, pad (all u32). */
export const DEVICE_INFO_SIZE = 24;
/** struct vfio_region_info: argsz, flags, index, cap_offset (u32), aligned_u64 size, aligned_u64 offset. */
export const REGION_INFO_SIZE = 32;
/** struct vfio_device_bind_iommufd: u32 argsz, u32 flags, s32 iommufd, u32 out_devid. */
export const BIND_IOMMUFD_SIZE = 16;
/** struct vfio_device_attach_iommufd_pt: u32 argsz, u32 flags, u32 pt_id. */
export const ATTACH_IOMMUFD_PT_SIZE = 12;
/** struct vfio_device_detach_iommufd_pt: u32 argsz, u32 flags. */
export const DETACH_IOMMUFD_PT_SIZE = 8;
/** struct iommu_ioas_alloc: u32 size, u32 flags, u32 out_ioas_id. */
export const IOAS_ALLOC_SIZE = 12;
/** struct iommu_destroy: u32 size, u32 id. */

/** Kernel structs use the CPU's byte order; every Linux target this runs on that has VFIO migration is LE. */
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function header(size: number, flags: number): Uint8Array {
  const buf = new Uint8Array(size);
  const dv = view(buf);
  dv.setUint32(0, size, LE);
  dv.setUint32(4, flags >>> 0, LE);
  return buf;
}

/** A vfio_device_feature with room for `dataSize` bytes of payload. */
export function encodeFeature(feature: number, access: number, dataSize: number): Uint8Array {
  return header(FEATURE_HEADER_SIZE + dataSize, (feature & FeatureFlag.MASK) | access);
}

/** PROBE for a feature with the GET and/or SET access asked about: no payload. */
export function encodeFeatureProbe(feature: number, access: number): Uint8Array {
  return encodeFeature(feature, FeatureFlag.PROBE | access, 0);
}

export function encodeMigrationGet(): Uint8Array {
  return encodeFeature(Feature.MIGRATION, FeatureFlag.GET, FEATURE_MIGRATION_SIZE);
}

/** The migration flags from an answered MIGRATION GET (u64 in the kernel; every defined bit fits in 32). */
export function decodeMigrationFlags(buf: Uint8Array): bigint {
  return view(buf).getBigUint64(FEATURE_HEADER_SIZE, LE);
}

export function encodeMigStateGet(): Uint8Array {
  const buf = encodeFeature(Feature.MIG_DEVICE_STATE, FeatureFlag.GET, FEATURE_MIG_STATE_SIZE);
  view(buf).setInt32(FEATURE_HEADER_SIZE + 4, -1, LE);
  return buf;
}

export function encodeMigStateSet(state: number): Uint8Array {
  const buf = encodeFeature(Feature.MIG_DEVICE_STATE, FeatureFlag.SET, FEATURE_MIG_STATE_SIZE);
  const dv = view(buf);
  dv.setUint32(FEATURE_HEADER_SIZE, state >>> 0, LE);
  dv.setInt32(FEATURE_HEADER_SIZE + 4, -1, LE);
  return buf;
}

export function decodeMigState(buf: Uint8Array): { deviceState: number; dataFd: number } {
  const dv = view(buf);
  return { deviceState: dv.getUint32(FEATURE_HEADER_SIZE, LE), dataFd: dv.getInt32(FEATURE_HEADER_SIZE + 4, LE) };
}

export function encodeMigDataSizeGet(): Uint8Array {
  return encodeFeature(Feature.MIG_DATA_SIZE, FeatureFlag.GET, FEATURE_MIG_DATA_SIZE_SIZE);
}

export function decodeMigDataSize(buf: Uint8Array): bigint {
  return view(buf).getBigUint64(FEATURE_HEADER_SIZE, LE);
}

export function encodePrecopyInfo(): Uint8Array {
  return header(PRECOPY_INFO_SIZE, 0);
}

export function decodePrecopyInfo(buf: Uint8Array): { flags: number; initialBytes: bigint; dirtyBytes: bigint } {
  const dv = view(buf);
  return { flags: dv.getUint32(4, LE), initialBytes: dv.getBigUint64(8, LE), dirtyBytes: dv.getBigUint64(16, LE) };
}

export function encodeGroupStatus(): Uint8Array {
  return header(GROUP_STATUS_SIZE, 0);
}

export function decodeGroupStatus(buf: Uint8Array): { flags: number } {
  return { flags: view(buf).getUint32(4, LE) };
}

export function encodeDeviceInfo(): Uint8Array {
  return header(DEVICE_INFO_SIZE, 0);
}

export interface DeviceInfo {
  flags: number;
  numRegions: number;
  numIrqs: number;
}

export function decodeDeviceInfo(buf: Uint8Array): DeviceInfo {
  const dv = view(buf);
  return { flags: dv.getUint32(4, LE), numRegions: dv.getUint32(8, LE), numIrqs: dv.getUint32(12, LE) };
}

export function encodeRegionInfo(index: number): Uint8Array {
  const buf = header(REGION_INFO_SIZE, 0);
  view(buf).setUint32(8, index >>> 0, LE);
  return buf;
}

export interface RegionInfo {
  index: number;
  flags: number;
  size: bigint;
  /** Where the region starts in the device fd (pread/pwrite offset). */
  offset: bigint;
}

export function decodeRegionInfo(buf: Uint8Array): RegionInfo {
  const dv = view(buf);
  return {
    flags: dv.getUint32(4, LE),
    index: dv.getUint32(8, LE),
    size: dv.getBigUint64(16, LE),
    offset: dv.getBigUint64(24, LE),
  };
}

export function encodeBindIommufd(iommufd: number): Uint8Array {
  const buf = header(BIND_IOMMUFD_SIZE, 0);
  view(buf).setInt32(8, iommufd, LE);
  return buf;
}

export function decodeBindIommufd(buf: Uint8Array): { devId: number } {
  return { devId: view(buf).getUint32(12, LE) };
}

export function encodeAttachIommufdPt(ptId: number): Uint8Array {
  const buf = header(ATTACH_IOMMUFD_PT_SIZE, 0);
  view(buf).setUint32(8, ptId >>> 0, LE);
  return buf;
}

export function decodeAttachIommufdPt(buf: Uint8Array): { ptId: number } {
  return { ptId: view(buf).getUint32(8, LE) };
}

export function encodeIoasAlloc(): Uint8Array {
  return header(IOAS_ALLOC_SIZE, 0);
}

export function decodeIoasAlloc(buf: Uint8Array): { ioasId: number } {
  return { ioasId: view(buf).getUint32(8, LE) };
}

/** VFIO_GROUP_SET_CONTAINER takes a pointer to the container fd as an s32. */
export function encodeFdArg(fd: number): Uint8Array {
  const buf = new Uint8Array(4);
  view(buf).setInt32(0, fd, LE);
  return buf;
}

/** VFIO_GROUP_GET_DEVICE_FD takes the device's name as a NUL-terminated string. */
export function encodeCString(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes);
  return buf;
}

/** open(2) flags (asm-generic values, used by x86-64 and arm64). */
export const OpenFlag = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  RDWR: 0o2,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;
