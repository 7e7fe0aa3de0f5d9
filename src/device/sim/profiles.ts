// The simulated device profiles: what each models, its defaults, and how its state pages are laid out. A layout is a
// list of regions (fractions of the page space) with a content kind each; `hot` regions are where a running device
// writes, so they are what dirtying touches.
import { MigrationFlag } from '../../fsm/index.ts';

export const PAGE_SIZE = 4096;

/** What a page holds; page-content.ts turns (kind, seed, page, generation) into bytes. */
export const PageKind = {
  /** Unused memory: all zero until the device first writes it. */
  ZERO: 0,
  /** Keys, hashes, compressed or encrypted buffers: incompressible. */
  RANDOM: 1,
  /** Framebuffer and texture tiles: repetitive rows, compress well. */
  TEXTURE: 2,
  /** Descriptor rings, tables and counters: 16-byte records with regular fields. */
  STRUCT: 3,
} as const;
export type PageKind = (typeof PageKind)[keyof typeof PageKind];

export const PAGE_KIND_NAMES: readonly string[] = ['zero', 'random', 'texture', 'struct'];

export interface RegionTemplate {
  kind: PageKind;
  /** Share of the device's pages (the shares of a profile sum to 1). */
  share: number;
  /** Written by the running device (dirtying lands here). */
  hot: boolean;
  /** What the region stands for, for `sim list`. */
  role: string;
}

export interface SimProfile {
  readonly name: string;
  readonly summary: string;
  /** The real devices it is modelled on. */
  readonly modelledOn: string;
  readonly defaultSize: number;
  /** The size cannot be changed (a device with a fixed-size state). */
  readonly fixedSize: boolean;
  readonly defaultFlags: number;
  /** Bytes per second the running device writes by default. */
  readonly defaultDirtyRate: number;
  readonly layout: readonly RegionTemplate[];
}

const ALL = MigrationFlag.STOP_COPY | MigrationFlag.P2P | MigrationFlag.PRE_COPY;
const MiB = 1024 * 1024;

export const SIM_PROFILES: readonly SimProfile[] = [
  {
    name: 'nic',
    summary: 'NIC virtual function: tens of MiB of structured state, P2P and PRE_COPY',
    modelledOn: 'mlx5 / pds VFs',
    defaultSize: 32 * MiB,
    fixedSize: false,
    defaultFlags: ALL,
    defaultDirtyRate: 4 * MiB,
    layout: [
      { kind: PageKind.STRUCT, share: 0.25, hot: true, role: 'send/receive descriptor rings' },
      { kind: PageKind.STRUCT, share: 0.45, hot: false, role: 'flow and steering tables' },
      { kind: PageKind.RANDOM, share: 0.05, hot: false, role: 'keys and hash seeds' },
      { kind: PageKind.STRUCT, share: 0.05, hot: true, role: 'counters' },
      { kind: PageKind.ZERO, share: 0.2, hot: false, role: 'unused context memory' },
    ],
  },
  {
    name: 'gpu',
    summary: 'GPU / vGPU: multi-GiB state, mostly zero pages plus textures and random regions, PRE_COPY',
    modelledOn: 'vGPU framebuffers (NVIDIA vGPU, Intel GVT-g)',
    defaultSize: 4096 * MiB,
    fixedSize: false,
    defaultFlags: MigrationFlag.STOP_COPY | MigrationFlag.PRE_COPY,
    defaultDirtyRate: 64 * MiB,
    layout: [
      { kind: PageKind.TEXTURE, share: 0.12, hot: true, role: 'framebuffers' },
      { kind: PageKind.ZERO, share: 0.6, hot: false, role: 'unallocated video memory' },
      { kind: PageKind.TEXTURE, share: 0.15, hot: false, role: 'textures' },
      { kind: PageKind.RANDOM, share: 0.05, hot: true, role: 'compute buffers' },
      { kind: PageKind.ZERO, share: 0.08, hot: false, role: 'reserved' },
    ],
  },
  {
    name: 'minimal',
    summary: 'minimal device: small state, STOP_COPY only (no P2P, no PRE_COPY)',
    modelledOn: 'mtty sample driver, virtio-pci admin migration',
    defaultSize: 256 * 1024,
    fixedSize: false,
    defaultFlags: MigrationFlag.STOP_COPY,
    defaultDirtyRate: 0,
    layout: [
      { kind: PageKind.STRUCT, share: 0.75, hot: true, role: 'registers and queues' },
      { kind: PageKind.ZERO, share: 0.25, hot: false, role: 'padding' },
    ],
  },
  {
    name: 'accel',
    summary: 'crypto/compression accelerator: small fixed-size state, PRE_COPY without P2P',
    modelledOn: 'hisi_acc, qat VFs',
    defaultSize: 16 * 1024,
    fixedSize: true,
    defaultFlags: MigrationFlag.STOP_COPY | MigrationFlag.PRE_COPY,
    defaultDirtyRate: 0,
    layout: [
      { kind: PageKind.STRUCT, share: 0.5, hot: true, role: 'queue registers' },
      { kind: PageKind.RANDOM, share: 0.5, hot: false, role: 'match data and keys' },
    ],
  },
];

export function findProfile(name: string): SimProfile | undefined {
  return SIM_PROFILES.find((p) => p.name === name);
}

export interface Region {
  start: number;
  end: number;
  kind: PageKind;
  hot: boolean;
}

/** The layout of a device with `pageCount` pages: contiguous regions in template order, covering every page. */
export function layoutRegions(profile: SimProfile, pageCount: number): Region[] {
  const regions: Region[] = [];
  let start = 0;
  let acc = 0;
  profile.layout.forEach((t, i) => {
    acc += t.share;
    const end = i === profile.layout.length - 1 ? pageCount : Math.min(pageCount, Math.round(acc * pageCount));
    if (end > start) regions.push({ start, end, kind: t.kind, hot: t.hot });
    start = Math.max(start, end);
  });
  return regions;
}
