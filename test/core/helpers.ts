// Shared helpers for the core tests: a seeded PRNG, corpus generators, and stock-tool detection.
import { execFileSync } from 'node:child_process';

/** Deterministic 32-bit PRNG (mulberry32) so every run sees the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (r() * 4294967296) >>> 0;
  for (let i = words.length * 4; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** Device-like state: mostly zero pages, repeated records, some random regions. */
export function structuredBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  const record = randomBytes(96, seed + 1);
  for (let page = 0; page * 4096 < n; page++) {
    const at = page * 4096;
    const end = Math.min(n, at + 4096);
    const kind = r();
    if (kind < 0.55) continue; // zero page
    if (kind < 0.85) {
      for (let i = at; i < end; i += record.length) {
        out.set(record.subarray(0, Math.min(record.length, end - i)), i);
        if (i + 8 < end) out[i + 4] = page & 0xff; // records differ a little
      }
    } else {
      out.set(randomBytes(end - at, seed + page), at);
    }
  }
  return out;
}

const WORDS =
  'the device state migration vfio region buffer page dirty iommu stop copy resume running pre and of to'.split(' ');

/** Text-like data: words with spaces and newlines. */
export function textBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const w = WORDS[(r() * WORDS.length) | 0]!;
    for (let k = 0; k < w.length && i < n; k++) out[i++] = w.charCodeAt(k);
    if (i < n) out[i++] = r() < 0.1 ? 10 : 32;
  }
  return out;
}

export const corpora: Record<string, (n: number, seed: number) => Uint8Array> = {
  random: randomBytes,
  zeros: (n) => new Uint8Array(n),
  structured: structuredBytes,
  text: textBytes,
};

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether tests needing `tool` should be skipped: only when it is absent and CI is not set (under CI the tests
 * run and fail loudly if the tool is missing).
 */
export function skipWithoutTool(tool: string): boolean {
  if (hasTool(tool)) return false;
  if (process.env.CI) return false;
  console.warn(
    `skipping tests that need \`${tool}\` (not installed; apt-get install ${tool === 'xxhsum' ? 'xxhash' : tool})`,
  );
  return true;
}

/** Byte equality without vitest's element-wise deep compare (which is slow on MiB-sized arrays). */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
  );
}
