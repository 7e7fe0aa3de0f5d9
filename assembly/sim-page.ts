// A simulated device's page: a pure function of (kind, seed, page, generation), the bytes src/device/sim/page-content.ts
// documents. Here because a device generates every page it sends and regenerates every page it checks: in JavaScript
// that was a third of the producing thread's time on a GPU-like state (1.1 µs per texture page, most of it stores).
// Same arithmetic as always (u32 wrapping, xorshift32), so saved states stay loadable.
import { SIM_PAGE, SIM_PAGE_PALETTE, STATE_PTR } from './arenas';

const KIND_ZERO: u32 = 0;
const KIND_RANDOM: u32 = 1;
const KIND_TEXTURE: u32 = 2;
const KIND_STRUCT: u32 = 3;

function mix32(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x7feb352d;
  x ^= x >> 15;
  x *= 0x846ca68b;
  x ^= x >> 16;
  return x;
}

function xorshift32(s: u32): u32 {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

/** Where the host has a page generated to compare or copy (4 KiB in STATE). */
export function simPagePtr(): usize {
  return STATE_PTR + SIM_PAGE;
}

/** Writes the 4096 bytes of `page` at generation `gen` to `dst` (16-byte aligned). */
export function simPageFill(dst: usize, kind: u32, seed: u32, page: u32, gen: u32): void {
  let s = mix32(seed ^ mix32((page * 0x9e3779b9) ^ mix32(gen + (kind + 1) * 0x85ebca6b)));
  if (s === 0) s = 0x6d2b79f5;
  if (kind === KIND_ZERO) {
    memory.fill(dst, 0, 4096);
    // once written, an unused page carries a small header and stays mostly zero
    if (gen > 0) {
      for (let i: usize = 0; i < 64; i += 4) {
        s = xorshift32(s);
        store<u32>(dst + i, s);
      }
    }
  } else if (kind === KIND_RANDOM) {
    for (let i: usize = 0; i < 4096; i += 4) {
      s = xorshift32(s);
      store<u32>(dst + i, s);
    }
  } else if (kind === KIND_TEXTURE) {
    // a 16-word palette (one 64-byte row); rows repeat in fours, each four shaded by one more step
    const palette = STATE_PTR + SIM_PAGE_PALETTE;
    for (let i: usize = 0; i < 64; i += 4) {
      s = xorshift32(s);
      store<u32>(palette + i, s);
    }
    s = xorshift32(s);
    const step = s & 0x01010101;
    if (ASC_FEATURE_SIMD) {
      const p0 = v128.load(palette);
      const p1 = v128.load(palette, 16);
      const p2 = v128.load(palette, 32);
      const p3 = v128.load(palette, 48);
      for (let g: u32 = 0; g < 16; g++) {
        const shade = i32x4.splat(g * step);
        const a = i32x4.add(p0, shade);
        const b = i32x4.add(p1, shade);
        const c = i32x4.add(p2, shade);
        const d = i32x4.add(p3, shade);
        const row = dst + ((<usize>g) << 8);
        for (let r: usize = 0; r < 256; r += 64) {
          v128.store(row + r, a);
          v128.store(row + r, b, 16);
          v128.store(row + r, c, 32);
          v128.store(row + r, d, 48);
        }
      }
    } else {
      for (let g: u32 = 0; g < 16; g++) {
        const shade = g * step;
        const row = dst + ((<usize>g) << 8);
        for (let i: usize = 0; i < 64; i += 4) {
          const w = load<u32>(palette + i) + shade;
          store<u32>(row + i, w);
          store<u32>(row + i, w, 64);
          store<u32>(row + i, w, 128);
          store<u32>(row + i, w, 192);
        }
      }
    }
  } else if (kind === KIND_STRUCT) {
    // 256 descriptors of 16 bytes: buffer address, high half, length and flags with a generation stamp
    s = xorshift32(s);
    const base = s & 0xfffff000;
    s = xorshift32(s);
    const hi = s & 0xff;
    const stamp = gen & 0xffff;
    for (let d: u32 = 0; d < 256; d++) {
      s = xorshift32(s);
      const at = dst + ((<usize>d) << 4);
      store<u32>(at, base + d * 2048);
      store<u32>(at, hi, 4);
      store<u32>(at, (64 + (s & 1023)) | (d << 16), 8);
      store<u32>(at, 0x80000000 | ((d & 1) << 20) | stamp, 12);
    }
  }
}
