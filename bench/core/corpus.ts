// Benchmark corpora, generated deterministically: random (incompressible), zeros, structured (device-like: mostly
// zero pages, repeated records, random regions) and text-like.
export type CorpusName = 'random' | 'zeros' | 'structured' | 'text';
export const CORPORA: CorpusName[] = ['random', 'zeros', 'structured', 'text'];

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function fillRandom(out: Uint8Array, seed: number): void {
  const r = prng(seed);
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = r();
}

const WORDS = (
  'the of and to in is for on that by this with from device state page region buffer migration vfio dirty ' +
  'iommu resume running stop copy pre interrupt queue descriptor register config vector table'
).split(' ');

export function makeCorpus(name: CorpusName, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (name === 'random') fillRandom(out, 1);
  else if (name === 'structured') {
    const r = prng(2);
    const record = new Uint8Array(96);
    fillRandom(record, 3);
    for (let at = 0; at < size; at += 4096) {
      const kind = r() % 100;
      const page = out.subarray(at, at + 4096);
      if (kind < 60) continue;
      if (kind < 85) {
        for (let i = 0; i + 96 <= page.length; i += 96) {
          page.set(record, i);
          page[i + 8] = at >>> 12;
        }
      } else fillRandom(page, at);
    }
  } else if (name === 'text') {
    const r = prng(4);
    let i = 0;
    while (i < size) {
      const w = WORDS[r() % WORDS.length]!;
      for (let k = 0; k < w.length && i < size; k++) out[i++] = w.charCodeAt(k);
      if (i < size) out[i++] = r() % 12 === 0 ? 10 : 32;
    }
  }
  return out;
}

// ---- device-like corpora for the strategy benchmarks -----------------------------------------------------------
// Each 4 KiB page is a pure function of (corpus, page index), so a corpus of any size is produced block by block
// (constant memory) and the same bytes come out whatever the block size. Pages are grouped into 1 MiB regions of one
// kind, as device memory is (a zero region spans whole chunks, which the pipeline sends as zero chunks).
export type DeviceCorpusName = 'gpu-like' | 'nic-like' | 'random' | 'mixed';
export const DEVICE_CORPORA: DeviceCorpusName[] = ['gpu-like', 'nic-like', 'random', 'mixed'];
export const PAGE = 4096;
const REGION_PAGES = 256;

/** A 32-bit mix of two integers (murmur3's finaliser), so page seeds are independent of each other. */
export function mix32(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(b, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

type PageKind = 'zero' | 'texture' | 'tile' | 'random' | 'ring' | 'registers';

// Region kinds by weight out of 100: GPU memory is mostly unallocated (zero) with framebuffers/textures; NIC state
// is descriptor rings and register files with some zero and a little random (keys, hashes).
const REGION_WEIGHTS: Record<Exclude<DeviceCorpusName, 'mixed'>, [PageKind, number][]> = {
  'gpu-like': [
    ['zero', 65],
    ['texture', 20],
    ['tile', 10],
    ['random', 5],
  ],
  'nic-like': [
    ['ring', 40],
    ['registers', 25],
    ['zero', 30],
    ['random', 5],
  ],
  random: [['random', 100]],
};

function pick(weights: [PageKind, number][], roll: number): PageKind {
  let at = roll % 100;
  for (const [kind, w] of weights) {
    if (at < w) return kind;
    at -= w;
  }
  return weights[weights.length - 1]![0];
}

function regionKind(name: DeviceCorpusName, region: number): PageKind {
  const roll = mix32(0x5eed, region);
  if (name !== 'mixed') return pick(REGION_WEIGHTS[name], roll);
  // mixed: each region is taken from one of the three device-like corpora
  const from: Exclude<DeviceCorpusName, 'mixed'> = roll % 20 < 9 ? 'gpu-like' : roll % 20 < 17 ? 'nic-like' : 'random';
  return pick(REGION_WEIGHTS[from], mix32(roll, 7));
}

function fillPage(kind: PageKind, page: number, salt: number, out: Uint8Array): void {
  const r = prng(mix32(page, 0xa11ce + salt));
  switch (kind) {
    case 'zero':
      out.fill(0);
      return;
    case 'random':
      fillRandom(out, mix32(page, 0xbad + salt));
      return;
    case 'texture': {
      // RGBA gradients with low-bit noise: compressible by entropy coders, hardly by LZ77 alone
      const base = r();
      for (let i = 0; i < out.length; i += 4) {
        const x = (i >>> 2) & 63;
        const noise = r() & 3;
        out[i] = ((base & 0xff) + x + noise) & 0xff;
        out[i + 1] = (((base >>> 8) & 0xff) + (x >>> 1) + noise) & 0xff;
        out[i + 2] = ((base >>> 16) & 0xff) + ((page & 15) << 2);
        out[i + 3] = 0xff;
      }
      return;
    }
    case 'tile': {
      // one of 8 repeated 256-byte tiles (fonts, UI sprites): long matches
      const tile = prng(0x7117 + (r() & 7));
      for (let i = 0; i < 256; i++) out[i] = tile() & 0xff;
      for (let i = 256; i < out.length; i += 256) out.copyWithin(i, 0, 256);
      return;
    }
    case 'ring': {
      // 16-byte descriptors: 64-bit DMA address walking by buffer size, 16-bit length, flags, zero padding
      const view = new DataView(out.buffer, out.byteOffset, out.length);
      let addr = (r() & 0xfffff) * 4096;
      const len = 1 << (9 + (r() & 3));
      for (let i = 0; i < out.length; i += 16) {
        view.setUint32(i, addr >>> 0, true);
        view.setUint32(i + 4, 0x1, true);
        view.setUint16(i + 8, len, true);
        view.setUint16(i + 10, r() % 8 === 0 ? 0x3 : 0x1, true);
        view.setUint32(i + 12, 0, true);
        addr += len;
      }
      return;
    }
    case 'registers': {
      // 32-bit registers: mostly zero or small counters and masks
      const view = new DataView(out.buffer, out.byteOffset, out.length);
      for (let i = 0; i < out.length; i += 4) {
        const v = r();
        view.setUint32(i, v % 4 === 0 ? v & 0xffff : v % 4 === 1 ? 0xffffffff : 0, true);
      }
      return;
    }
  }
}

/**
 * Fills `out` with the corpus bytes at `offset` (both multiples of 4 KiB). Any split of a corpus into blocks gives
 * the same bytes, so big corpora are written block by block.
 */
export function fillDeviceCorpus(name: DeviceCorpusName, offset: number, out: Uint8Array): void {
  if (offset % PAGE || out.length % PAGE) throw new RangeError('device corpora are made of whole 4 KiB pages');
  // each corpus its own page contents: no two corpora share a random page
  const salt = DEVICE_CORPORA.indexOf(name) << 20;
  for (let at = 0; at < out.length; at += PAGE) {
    const page = (offset + at) / PAGE;
    fillPage(regionKind(name, Math.floor(page / REGION_PAGES)), page, salt, out.subarray(at, at + PAGE));
  }
}

/**
 * The corpus's bytes in blocks of `block` bytes (the last may be shorter). Memory stays at one block: each block is
 * the same buffer, refilled, so a consumer must use (or copy) a block before asking for the next.
 */
export function* deviceCorpusBlocks(name: DeviceCorpusName, size: number, block = 1 << 20): Generator<Uint8Array> {
  if (size % PAGE || block % PAGE) throw new RangeError('device corpora are made of whole 4 KiB pages');
  const buf = new Uint8Array(block);
  for (let offset = 0; offset < size; offset += block) {
    const view = buf.subarray(0, Math.min(block, size - offset));
    fillDeviceCorpus(name, offset, view);
    yield view;
  }
}
