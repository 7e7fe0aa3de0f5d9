import process from 'node:process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DeviceInfoFlag,
  decodeBindIommufd,
  decodeMigDataSize,
  decodeMigrationFlags,
  decodeMigState,
  decodePrecopyInfo,
  decodeRegionInfo,
  encodeAttachIommufdPt,
  encodeBindIommufd,
  encodeFeatureProbe,
  encodeIoasAlloc,
  encodeMigDataSizeGet,
  encodeMigrationGet,
  encodeMigStateGet,
  encodeMigStateSet,
  encodePrecopyInfo,
  encodeRegionInfo,
  Feature,
  FeatureFlag,
  GroupFlag,
  Ioctl,
  IommuType,
  PciRegion,
  PRECOPY_INFO_REINIT,
  RegionInfoFlag,
  VFIO_API_VERSION,
  VFIO_BASE,
  VFIO_TYPE,
} from '../../../src/device/vfio/uapi.ts';
import { DeviceState, MigrationFlag } from '../../../src/fsm/index.ts';
import { findUapiHeaders, formatVersion, parseUapiConstants, versionBefore } from './uapi-headers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ioctl numbers', () => {
  it('match _IO(";", 100 + n) as the uAPI header defines them', () => {
    expect(Ioctl.VFIO_GET_API_VERSION).toBe(0x3b64);
    expect(Ioctl.VFIO_CHECK_EXTENSION).toBe(0x3b65);
    expect(Ioctl.VFIO_SET_IOMMU).toBe(0x3b66);
    expect(Ioctl.VFIO_GROUP_GET_STATUS).toBe(0x3b67);
    expect(Ioctl.VFIO_GROUP_SET_CONTAINER).toBe(0x3b68);
    expect(Ioctl.VFIO_GROUP_GET_DEVICE_FD).toBe(0x3b6a);
    expect(Ioctl.VFIO_DEVICE_GET_INFO).toBe(0x3b6b);
    expect(Ioctl.VFIO_DEVICE_GET_REGION_INFO).toBe(0x3b6c);
    expect(Ioctl.VFIO_DEVICE_RESET).toBe(0x3b6f);
    expect(Ioctl.VFIO_DEVICE_FEATURE).toBe(0x3b75);
    expect(Ioctl.VFIO_DEVICE_BIND_IOMMUFD).toBe(0x3b76);
    expect(Ioctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT).toBe(0x3b77);
    expect(Ioctl.VFIO_DEVICE_DETACH_IOMMUFD_PT).toBe(0x3b78);
    expect(Ioctl.VFIO_MIG_GET_PRECOPY_INFO).toBe(0x3b79);
    expect(Ioctl.IOMMU_DESTROY).toBe(0x3b80);
    expect(Ioctl.IOMMU_IOAS_ALLOC).toBe(0x3b81);
  });
});

// Every constant this project takes from the uAPI, by the name the kernel headers give it, with the kernel release
// that introduced it where that is after 6.1 (the oldest header on the machines this runs on: Debian 12's).
const UAPI: readonly { name: string; value: number; since?: [number, number] }[] = [
  ...Object.entries(Ioctl).map(([name, value]) => ({
    name,
    value,
    since:
      name.startsWith('IOMMU_') || name === 'VFIO_MIG_GET_PRECOPY_INFO'
        ? ([6, 2] as [number, number])
        : /IOMMUFD/.test(name)
          ? ([6, 6] as [number, number])
          : undefined,
  })),
  { name: 'VFIO_TYPE', value: VFIO_TYPE },
  { name: 'VFIO_BASE', value: VFIO_BASE },
  { name: 'VFIO_API_VERSION', value: VFIO_API_VERSION },
  { name: 'VFIO_TYPE1_IOMMU', value: IommuType.TYPE1 },
  { name: 'VFIO_TYPE1v2_IOMMU', value: IommuType.TYPE1v2 },
  { name: 'VFIO_NOIOMMU_IOMMU', value: IommuType.NOIOMMU },
  ...Object.entries(GroupFlag).map(([k, value]) => ({ name: `VFIO_GROUP_FLAGS_${k}`, value })),
  ...Object.entries(DeviceInfoFlag).map(([k, value]) => ({
    name: `VFIO_DEVICE_FLAGS_${k}`,
    value,
    since: k === 'CDX' ? ([6, 6] as [number, number]) : undefined,
  })),
  ...Object.entries(RegionInfoFlag).map(([k, value]) => ({ name: `VFIO_REGION_INFO_FLAG_${k}`, value })),
  ...Object.entries(PciRegion).map(([k, value]) => ({ name: `VFIO_PCI_${k}_REGION_INDEX`, value })),
  ...Object.entries(FeatureFlag).map(([k, value]) => ({ name: `VFIO_DEVICE_FEATURE_${k}`, value })),
  ...Object.entries(Feature).map(([k, value]) => ({
    name: `VFIO_DEVICE_FEATURE_${k}`,
    value,
    since:
      k === 'MIG_DATA_SIZE'
        ? ([6, 2] as [number, number])
        : k === 'BUS_MASTER'
          ? ([6, 8] as [number, number])
          : undefined,
  })),
  ...Object.entries(MigrationFlag).map(([k, value]) => ({
    name: `VFIO_MIGRATION_${k}`,
    value,
    since: k === 'PRE_COPY' ? ([6, 2] as [number, number]) : undefined,
  })),
  ...Object.entries(DeviceState).map(([k, value]) => ({
    name: `VFIO_DEVICE_STATE_${k}`,
    value,
    since: k.startsWith('PRE_COPY') ? ([6, 2] as [number, number]) : undefined,
  })),
];

/**
 * VFIO_PRECOPY_INFO_REINIT is newer than every header here (an upstream series of 2026 that also needs the
 * MIG_PRECOPY_INFOv2 opt-in; without it kernels echo the flags we pass, which are 0), so no header can check it.
 */
const NEWER_THAN_ANY_HEADER = [{ name: 'VFIO_PRECOPY_INFO_REINIT', value: PRECOPY_INFO_REINIT }];

describe('the uAPI constants agree with the kernel headers on this machine', () => {
  const sets = findUapiHeaders();
  // Under CI, .ci/run installs linux-libc-dev and unpacks linux-source-6.12's headers: both must be there.
  it.runIf(process.env.CI)('finds the system header and a 6.12 kernel source header (CI)', () => {
    expect(sets.map((s) => s.label).join('; ')).toMatch(/linux-libc-dev/);
    expect(sets.some((s) => !versionBefore(s.version, [6, 12]))).toBe(true);
  });

  for (const set of sets) {
    describe(set.label, () => {
      for (const c of UAPI) {
        const present = set.constants.has(c.name);
        if (!present && c.since && versionBefore(set.version, c.since)) {
          // Not a failure and not silent: the test list names it, with the release that brought it.
          it.skip(`${c.name}: not checked here, this header predates it (added in ${formatVersion(c.since)})`, () => {});
          continue;
        }
        it(`${c.name} = ${c.value}`, () => {
          expect(present, `${c.name} is missing from a ${formatVersion(set.version)} header`).toBe(true);
          expect(set.constants.get(c.name), c.name).toBe(c.value);
        });
      }
    });
  }

  it('checks every constant against at least one header that defines it (under CI)', (ctx) => {
    const unchecked = UAPI.filter((c) => !sets.some((s) => s.constants.has(c.name))).map((c) => c.name);
    const newer = NEWER_THAN_ANY_HEADER.filter((c) => sets.some((s) => s.constants.has(c.name)));
    // A header that has caught up with a constant marked newer must now check it.
    for (const c of newer)
      for (const s of sets) if (s.constants.has(c.name)) expect(s.constants.get(c.name)).toBe(c.value);
    if (unchecked.length > 0 && !process.env.CI) {
      ctx.skip(`no header here defines ${unchecked.join(', ')}: unpack a 6.12 kernel source header (see .ci/run)`);
    }
    expect(unchecked).toEqual([]);
  });
});

describe('the header reader', () => {
  it('evaluates _IO(), shifts, character constants and enums with implicit values', () => {
    const m = new Map<string, number>();
    parseUapiConstants(
      [
        "#define T (';')",
        '#define B 100',
        '#define REQ _IO(T, B + 17)',
        '#define FLAG (1 << 16) /* why */',
        '#define FN(x) ((x) + 1)',
        'enum { A, C = 5, D, E = 0x80, F = E, };',
      ].join('\n'),
      m,
    );
    expect(Object.fromEntries(m)).toEqual({
      T: 59,
      B: 100,
      REQ: 0x3b75,
      FLAG: 65536,
      A: 0,
      C: 5,
      D: 6,
      E: 128,
      F: 128,
    });
  });
});

describe('struct vfio_device_feature and its payloads', () => {
  it('MIGRATION GET: argsz 16, flags GET|1, an aligned u64 for the answer', () => {
    expect(hex(encodeMigrationGet())).toBe('10000000' + '01000100' + '0000000000000000');
    const answer = encodeMigrationGet();
    answer.set([7, 0, 0, 0, 0, 0, 0, 0], 8);
    expect(decodeMigrationFlags(answer)).toBe(7n);
  });

  it('MIG_DEVICE_STATE SET: u32 device_state then s32 data_fd = -1', () => {
    expect(hex(encodeMigStateSet(3))).toBe('10000000' + '02000200' + '03000000' + 'ffffffff');
    expect(hex(encodeMigStateGet())).toBe('10000000' + '02000100' + '00000000' + 'ffffffff');
  });

  it('MIG_DEVICE_STATE decodes the data fd the kernel returned', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: -1, max: 2 ** 31 - 1 }), (state, fd) => {
        const b = encodeMigStateSet(state);
        new DataView(b.buffer).setInt32(12, fd, true);
        expect(decodeMigState(b)).toEqual({ deviceState: state, dataFd: fd });
      }),
    );
  });

  it('MIG_DATA_SIZE GET: feature 9, a u64 answer', () => {
    const b = encodeMigDataSizeGet();
    expect(hex(b)).toBe('10000000' + '09000100' + '0000000000000000');
    fc.assert(
      fc.property(fc.bigUint64Array({ minLength: 1, maxLength: 1 }), ([v]) => {
        new DataView(b.buffer).setBigUint64(8, v!, true);
        expect(decodeMigDataSize(b)).toBe(v);
      }),
    );
  });

  it('PROBE carries no payload: argsz 8', () => {
    expect(hex(encodeFeatureProbe(Feature.MIG_DEVICE_STATE, FeatureFlag.SET))).toBe('08000000' + '02000600');
  });
});

describe('other structs', () => {
  it('vfio_precopy_info: argsz 24, u64s at 8 and 16', () => {
    expect(hex(encodePrecopyInfo())).toBe(`18000000${'0'.repeat(40)}`);
    fc.assert(
      fc.property(fc.bigUint64Array({ minLength: 2, maxLength: 2 }), fc.nat(), ([i, d], flags) => {
        const b = encodePrecopyInfo();
        const dv = new DataView(b.buffer);
        dv.setUint32(4, flags, true);
        dv.setBigUint64(8, i!, true);
        dv.setBigUint64(16, d!, true);
        expect(decodePrecopyInfo(b)).toEqual({ flags, initialBytes: i, dirtyBytes: d });
      }),
    );
  });

  it('vfio_region_info: index at 8, aligned size at 16 and offset at 24', () => {
    const b = encodeRegionInfo(7);
    expect(hex(b)).toBe(`20000000000000000700000000000000${'0'.repeat(32)}`);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(16, 0x100n, true);
    dv.setBigUint64(24, 7n << 40n, true);
    expect(decodeRegionInfo(b)).toEqual({ flags: 0, index: 7, size: 0x100n, offset: 7n << 40n });
  });

  it('iommufd bind, IOAS alloc and attach', () => {
    const bind = encodeBindIommufd(5);
    expect(hex(bind)).toBe('10000000' + '00000000' + '05000000' + '00000000');
    bind.set([9, 0, 0, 0], 12);
    expect(decodeBindIommufd(bind).devId).toBe(9);
    expect(hex(encodeIoasAlloc())).toBe('0c000000' + '00000000' + '00000000');
    expect(hex(encodeAttachIommufdPt(3))).toBe('0c000000' + '00000000' + '03000000');
  });
});
