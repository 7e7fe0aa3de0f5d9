// The simulated pages as plain JavaScript: how the device made them before the WebAssembly core did, kept as the
// independent implementation the core's pages are checked against (a word loop per kind, native byte order).
import { PageKind } from '../../../src/device/sim/profiles.ts';

const WORDS = 1024;

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function xorshift32(s: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s;
}

/** One palette, reused: a page is made before the next one starts (as the device's JavaScript did). */
const palette = new Uint32Array(16);

/**
 * Writes the 1024 words of `page` at generation `gen` into `out` from word `at` (the core benchmark times this as the
 * twin of the core's pages, so it allocates nothing), or into a new page; returns the page's bytes.
 */
export function referencePage(
  kind: PageKind,
  seed: number,
  page: number,
  gen: number,
  out = new Uint32Array(WORDS),
  at = 0,
): Uint8Array {
  let s = mix32(seed ^ mix32(Math.imul(page, 0x9e3779b9) ^ mix32(gen + Math.imul(kind + 1, 0x85ebca6b))));
  if (s === 0) s = 0x6d2b79f5;
  if (kind === PageKind.ZERO) {
    out.fill(0, at, at + WORDS);
    if (gen > 0) {
      for (let i = 0; i < 16; i++) {
        s = xorshift32(s);
        out[at + i] = s >>> 0;
      }
    }
  } else if (kind === PageKind.RANDOM) {
    for (let i = 0; i < WORDS; i++) {
      s = xorshift32(s);
      out[at + i] = s >>> 0;
    }
  } else if (kind === PageKind.TEXTURE) {
    for (let i = 0; i < 16; i++) {
      s = xorshift32(s);
      palette[i] = s >>> 0;
    }
    s = xorshift32(s);
    const step = s & 0x01010101;
    for (let row = 0; row < WORDS / 16; row++) {
      const shade = Math.imul(row >>> 2, step);
      const w = at + row * 16;
      for (let i = 0; i < 16; i++) out[w + i] = (palette[i]! + shade) >>> 0;
    }
  } else {
    s = xorshift32(s);
    const base = s & 0xfffff000;
    s = xorshift32(s);
    const hi = s & 0xff;
    for (let d = 0; d < WORDS / 4; d++) {
      s = xorshift32(s);
      out[at + d * 4] = (base + d * 2048) >>> 0;
      out[at + d * 4 + 1] = hi;
      out[at + d * 4 + 2] = (64 + (s & 1023)) | (d << 16);
      out[at + d * 4 + 3] = (0x80000000 | ((d & 1) << 20) | (gen & 0xffff)) >>> 0;
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset + at * 4, WORDS * 4);
}
