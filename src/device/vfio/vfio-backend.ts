// A real device behind a VFIO device fd as a DeviceBackend: the migration features through VFIO_DEVICE_FEATURE, one
// single arc per MIG_DEVICE_STATE SET, data fds wrapped in sessions, reset, and BAR access for tests and tools.
import { TransitionRejectedError, VfioInvalidRequestError } from '../../errors.ts';
import {
  DeviceState,
  isDeviceState,
  isPreCopyState,
  isSavingState,
  isSingleArc,
  requirePath,
  stateName,
} from '../../fsm/index.ts';
import type { DataSession, DeviceBackend, OperationOptions, PrecopyInfo, SavingSession } from '../types.ts';
import { ResumingFdSession, SavingFdSession } from './data-fd-session.ts';
import { type CallKind, errorFromErrno } from './errno.ts';
import type { Libc } from './ffi.ts';
import type { VfioDeviceEntry } from './sysfs.ts';
import {
  DeviceInfoFlag,
  decodeDeviceInfo,
  decodeMigDataSize,
  decodeMigrationFlags,
  decodeMigState,
  decodePrecopyInfo,
  decodeRegionInfo,
  encodeDeviceInfo,
  encodeFeatureProbe,
  encodeMigDataSizeGet,
  encodeMigrationGet,
  encodeMigStateGet,
  encodeMigStateSet,
  encodePrecopyInfo,
  encodeRegionInfo,
  Feature,
  FeatureFlag,
  Ioctl,
  PRECOPY_INFO_REINIT,
  type RegionInfo,
} from './uapi.ts';

/** The fds that keep a device open; closed in reverse order of opening. */
export interface VfioHandle {
  libc: Libc;
  deviceFd: number;
  via: 'cdev' | 'group';
  /** The node opened: /dev/vfio/devices/vfioN or /dev/vfio/N. */
  node: string;
  entry: VfioDeviceEntry;
  /** Extra fds owned by the handle (iommufd, group, container), closed after the device fd. */
  ownedFds: number[];
  /** Facts about the IOMMU setup for describe(). */
  iommu: Record<string, unknown>;
}

export class VfioBackend implements DeviceBackend {
  readonly id: string;
  readonly kind = 'vfio' as const;
  readonly handle: VfioHandle;
  #flags: number | null = null;
  /** Last state known from the kernel: tells a session whether a drained read is pre-copy's pause or the end. */
  #state: DeviceState | null = null;
  #foundState: DeviceState | null = null;
  #resuming: ResumingFdSession | null = null;
  #closed = false;

  constructor(id: string, handle: VfioHandle) {
    this.id = id;
    this.handle = handle;
    handle.libc.retain();
  }

  get #libc(): Libc {
    return this.handle.libc;
  }

  #ioctl(request: number, arg: Uint8Array, kind: CallKind, operation: string, acceptedBytes?: number): void {
    const r = this.#libc.ioctlPtr(this.handle.deviceFd, request, arg);
    if (r.ret < 0) throw errorFromErrno(r.errno, { kind, operation, device: this.id, acceptedBytes });
  }

  /** VFIO_DEVICE_FEATURE PROBE: whether the device supports `feature` with the given GET/SET access. */
  probeFeature(feature: number, access: number): boolean {
    const r = this.#libc.ioctlPtr(this.handle.deviceFd, Ioctl.VFIO_DEVICE_FEATURE, encodeFeatureProbe(feature, access));
    return r.ret >= 0;
  }

  async readFlags(_opts?: OperationOptions): Promise<number> {
    const buf = encodeMigrationGet();
    this.#ioctl(Ioctl.VFIO_DEVICE_FEATURE, buf, 'feature', 'VFIO_DEVICE_FEATURE(MIGRATION GET)');
    const flags = Number(decodeMigrationFlags(buf) & 0xffffffffn);
    this.#flags = flags;
    return flags;
  }

  async readState(_opts?: OperationOptions): Promise<DeviceState> {
    const buf = encodeMigStateGet();
    this.#ioctl(Ioctl.VFIO_DEVICE_FEATURE, buf, 'feature', 'VFIO_DEVICE_FEATURE(MIG_DEVICE_STATE GET)');
    const { deviceState } = decodeMigState(buf);
    if (!isDeviceState(deviceState)) {
      throw new VfioInvalidRequestError(`the kernel reported an unknown migration state ${deviceState}`, {
        device: this.id,
      });
    }
    this.#state = deviceState;
    this.#foundState ??= deviceState;
    return deviceState;
  }

  async #requireFlags(): Promise<number> {
    return this.#flags ?? (await this.readFlags());
  }

  /**
   * One MIG_DEVICE_STATE SET. Anything the kernel would refuse (or, before the 2026 fix, loop on) is refused here
   * without an ioctl; RESUMING -> STOP failures become DeviceRejectedStreamError.
   */
  async #set(from: DeviceState, to: DeviceState, operation: string): Promise<DataSession | null> {
    const buf = encodeMigStateSet(to);
    const kind: CallKind = from === DeviceState.RESUMING && to === DeviceState.STOP ? 'resume-finish' : 'feature';
    const accepted = this.#resuming?.bytesWritten;
    this.#ioctl(Ioctl.VFIO_DEVICE_FEATURE, buf, kind, operation, accepted);
    this.#state = to;
    const { dataFd } = decodeMigState(buf);
    if (dataFd < 0) return null;
    const label = `${this.id} ${stateName(to)}`;
    if (to === DeviceState.RESUMING) {
      const s = new ResumingFdSession(this.#libc, dataFd, label);
      this.#resuming = s;
      return s;
    }
    if (isSavingState(to)) return new SavingFdSession(this.#libc, dataFd, label, () => this.#state ?? to);
    // A driver handing out an fd where the uAPI opens no session: close it rather than leak it.
    this.#libc.close(dataFd);
    return null;
  }

  async applyArc(from: DeviceState, to: DeviceState, _opts?: OperationOptions): Promise<DataSession | null> {
    const flags = await this.#requireFlags();
    if (!isSingleArc(flags, from, to)) {
      requirePath(flags, from, to); // throws the precise TransitionRejectedError when the kernel would refuse
      throw new TransitionRejectedError(
        stateName(from),
        stateName(to),
        'blocked',
        'not a single arc of this device; request it through MigrationDevice.setState',
      );
    }
    return this.#set(from, to, `VFIO_DEVICE_FEATURE(MIG_DEVICE_STATE SET ${stateName(from)} -> ${stateName(to)})`);
  }

  /**
   * Hands a whole (combination) transition to the kernel in one SET, the way QEMU does: the kernel steps the arcs.
   * Refused up front exactly where our FSM says the kernel would refuse, so a blocked request never reaches it.
   */
  async requestState(
    to: DeviceState,
    _opts?: OperationOptions,
  ): Promise<{ state: DeviceState; session: DataSession | null }> {
    const flags = await this.#requireFlags();
    const from = await this.readState();
    requirePath(flags, from, to);
    const session = await this.#set(from, to, `VFIO_DEVICE_FEATURE(MIG_DEVICE_STATE SET ${stateName(to)})`);
    return { state: await this.readState(), session };
  }

  async precopyInfo(session: SavingSession, _opts?: OperationOptions): Promise<PrecopyInfo> {
    if (!(session instanceof SavingFdSession) || session.closed) {
      throw new VfioInvalidRequestError('pre-copy info needs this device’s open saving session', { device: this.id });
    }
    const buf = encodePrecopyInfo();
    const r = this.#libc.ioctlPtr(session.fd, Ioctl.VFIO_MIG_GET_PRECOPY_INFO, buf);
    if (r.ret < 0) {
      throw errorFromErrno(r.errno, { kind: 'precopy-info', operation: 'VFIO_MIG_GET_PRECOPY_INFO', device: this.id });
    }
    const info = decodePrecopyInfo(buf);
    return {
      initialBytes: info.initialBytes,
      dirtyBytes: info.dirtyBytes,
      reinit: (info.flags & PRECOPY_INFO_REINIT) !== 0,
    };
  }

  async stopCopySize(_opts?: OperationOptions): Promise<bigint> {
    const buf = encodeMigDataSizeGet();
    this.#ioctl(Ioctl.VFIO_DEVICE_FEATURE, buf, 'feature', 'VFIO_DEVICE_FEATURE(MIG_DATA_SIZE GET)');
    return decodeMigDataSize(buf);
  }

  async reset(_opts?: OperationOptions): Promise<void> {
    const r = this.#libc.ioctlVal(this.handle.deviceFd, Ioctl.VFIO_DEVICE_RESET, 0);
    if (r.ret < 0) throw errorFromErrno(r.errno, { kind: 'other', operation: 'VFIO_DEVICE_RESET', device: this.id });
    this.#resuming = null;
    await this.readState();
  }

  /** VFIO_DEVICE_GET_INFO. */
  deviceInfo(): { flags: number; numRegions: number; numIrqs: number; canReset: boolean; pci: boolean } {
    const buf = encodeDeviceInfo();
    this.#ioctl(Ioctl.VFIO_DEVICE_GET_INFO, buf, 'other', 'VFIO_DEVICE_GET_INFO');
    const info = decodeDeviceInfo(buf);
    return {
      ...info,
      canReset: (info.flags & DeviceInfoFlag.RESET) !== 0,
      pci: (info.flags & DeviceInfoFlag.PCI) !== 0,
    };
  }

  /** VFIO_DEVICE_GET_REGION_INFO for region `index` (PciRegion.BAR0...). */
  regionInfo(index: number): RegionInfo {
    const buf = encodeRegionInfo(index);
    this.#ioctl(Ioctl.VFIO_DEVICE_GET_REGION_INFO, buf, 'other', `VFIO_DEVICE_GET_REGION_INFO(${index})`);
    return decodeRegionInfo(buf);
  }

  /** Reads `length` bytes at `offset` inside region `index` (register access through the device fd). */
  readRegion(index: number, offset: number, length: number): Uint8Array {
    const region = this.regionInfo(index);
    const buf = new Uint8Array(length);
    const r = this.#libc.pread(this.handle.deviceFd, buf, region.offset + BigInt(offset));
    if (r.ret < 0)
      throw errorFromErrno(r.errno, { kind: 'other', operation: `pread(region ${index})`, device: this.id });
    return buf.subarray(0, r.ret);
  }

  /** Writes `data` at `offset` inside region `index`. */
  writeRegion(index: number, offset: number, data: Uint8Array): number {
    const region = this.regionInfo(index);
    const r = this.#libc.pwrite(this.handle.deviceFd, data, region.offset + BigInt(offset));
    if (r.ret < 0) {
      throw errorFromErrno(r.errno, { kind: 'other', operation: `pwrite(region ${index})`, device: this.id });
    }
    return r.ret;
  }

  /** The state the device was in when this process first looked (a previous user may have left it there). */
  get foundState(): DeviceState | null {
    return this.#foundState;
  }

  /** The state last read from or set on the kernel. */
  get lastKnownState(): DeviceState | null {
    return this.#state;
  }

  describe(): Record<string, unknown> {
    const e = this.handle.entry;
    return {
      kind: 'vfio',
      name: e.name,
      bus: e.bus,
      driver: e.driver,
      via: this.handle.via,
      node: this.handle.node,
      cdev: e.cdevPath,
      group: e.groupPath,
      iommuGroup: e.iommuGroup,
      mdevType: e.mdevType,
      vendorId: e.vendorId,
      deviceId: e.deviceId,
      iommu: this.handle.iommu,
      foundState: this.#foundState === null ? null : stateName(this.#foundState),
      runtime: this.#libc.runtime,
      preCopy: this.#state !== null && isPreCopyState(this.#state),
      dmaLogging: this.probeFeature(Feature.DMA_LOGGING_START, FeatureFlag.SET),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const libc = this.#libc;
    libc.close(this.handle.deviceFd);
    for (const fd of [...this.handle.ownedFds].reverse()) libc.close(fd);
    libc.release();
  }
}
