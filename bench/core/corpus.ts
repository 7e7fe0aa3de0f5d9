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
