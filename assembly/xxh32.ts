// XXH32, one-shot and streaming: the LZ4 frame format uses it for the header, block and content checksums.
// Streaming state (XXH32_STATE slot, 64 bytes): v1..v4 @0..15, total length @16, seed @24, buffered @28,
// pending partial stripe (< 16 bytes) @32.
import { STATE_PTR, XXH32_ACC } from './arenas';

const P1: u32 = 0x9e3779b1;
const P2: u32 = 0x85ebca77;
const P3: u32 = 0xc2b2ae3d;
const P4: u32 = 0x27d4eb2f;
const P5: u32 = 0x165667b1;

export function round32(acc: u32, input: u32): u32 {
  return round(acc, input);
}

function round(acc: u32, input: u32): u32 {
  return rotl<u32>(acc + input * P2, 13) * P1;
}

/**
 * Runs whole 16-byte stripes from `p` through the four accumulators held at `acc` (16 bytes); returns the end.
 * The SIMD build keeps the four lanes in one vector: one multiply-add-rotate-multiply per stripe instead of four.
 */
export function stripes(acc: usize, p: usize, n: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const p1 = i32x4.splat(P1);
    const p2 = i32x4.splat(P2);
    let v = v128.load(acc);
    for (let i: usize = 0; i < n; i++) {
      v = i32x4.add(v, i32x4.mul(v128.load(p), p2));
      v = i32x4.mul(v128.or(i32x4.shl(v, 13), i32x4.shr_u(v, 19)), p1);
      p += 16;
    }
    v128.store(acc, v);
    return p;
  }
  let v1 = load<u32>(acc, 0);
  let v2 = load<u32>(acc, 4);
  let v3 = load<u32>(acc, 8);
  let v4 = load<u32>(acc, 12);
  for (let i: usize = 0; i < n; i++) {
    v1 = round(v1, load<u32>(p));
    v2 = round(v2, load<u32>(p, 4));
    v3 = round(v3, load<u32>(p, 8));
    v4 = round(v4, load<u32>(p, 12));
    p += 16;
  }
  store<u32>(acc, v1, 0);
  store<u32>(acc, v2, 4);
  store<u32>(acc, v3, 8);
  store<u32>(acc, v4, 12);
  return p;
}

export function finish32(h: u32, p: usize, len: usize): u32 {
  while (len >= 4) {
    h = rotl<u32>(h + load<u32>(p) * P3, 17) * P4;
    p += 4;
    len -= 4;
  }
  while (len > 0) {
    h = rotl<u32>(h + <u32>load<u8>(p) * P5, 11) * P1;
    p++;
    len--;
  }
  h ^= h >> 15;
  h *= P2;
  h ^= h >> 13;
  h *= P3;
  return h ^ (h >> 16);
}

export function xxh32(p: usize, len: usize, seed: u32): u32 {
  let h: u32;
  const end = p + len;
  if (len >= 16) {
    const acc = STATE_PTR + XXH32_ACC;
    store<u32>(acc, seed + P1 + P2, 0);
    store<u32>(acc, seed + P2, 4);
    store<u32>(acc, seed, 8);
    store<u32>(acc, seed - P1, 12);
    p = stripes(acc, p, len >> 4);
    h =
      rotl<u32>(load<u32>(acc, 0), 1) +
      rotl<u32>(load<u32>(acc, 4), 7) +
      rotl<u32>(load<u32>(acc, 8), 12) +
      rotl<u32>(load<u32>(acc, 12), 18);
  } else {
    h = seed + P5;
  }
  return finish32(h + <u32>len, p, end - p);
}

export function xxh32Reset(st: usize, seed: u32): void {
  store<u32>(st, seed + P1 + P2, 0);
  store<u32>(st, seed + P2, 4);
  store<u32>(st, seed, 8);
  store<u32>(st, seed - P1, 12);
  store<u64>(st, 0, 16);
  store<u32>(st, seed, 24);
  store<u32>(st, 0, 28);
}

export function xxh32Update(st: usize, p: usize, len: usize): void {
  store<u64>(st, load<u64>(st, 16) + <u64>len, 16);
  const buffered = <usize>load<u32>(st, 28);
  const buf = st + 32;
  if (buffered + len < 16) {
    memory.copy(buf + buffered, p, len);
    store<u32>(st, <u32>(buffered + len), 28);
    return;
  }
  if (buffered) {
    const fill: usize = 16 - buffered;
    memory.copy(buf + buffered, p, fill);
    p += fill;
    len -= fill;
    stripes(st, buf, 1);
  }
  p = stripes(st, p, len >> 4);
  len &= 15;
  memory.copy(buf, p, len);
  store<u32>(st, <u32>len, 28);
}

export function xxh32Digest(st: usize): u32 {
  const total = load<u64>(st, 16);
  const h =
    total >= 16
      ? rotl<u32>(load<u32>(st, 0), 1) +
        rotl<u32>(load<u32>(st, 4), 7) +
        rotl<u32>(load<u32>(st, 8), 12) +
        rotl<u32>(load<u32>(st, 12), 18)
      : load<u32>(st, 24) + P5;
  return finish32(h + <u32>total, st + 32, <usize>load<u32>(st, 28));
}
