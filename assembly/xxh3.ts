// XXH3-64, one-shot and streaming, bit-identical to the reference (`xxhsum -H3`), with the optional 64-bit seed.
// The long-input loop (accumulate/scramble over 64-byte stripes) has a v128 path: each 16-byte lane pair does
// one pmuludq-style 32x32->64 multiply through i64x2.extmul, which is where the time goes.
//
// Streaming state (XXH3_STATE slot, 1 KiB): acc[8] @0, secret (192, derived from the seed) @64,
// buffer (256) @256, total length @512, seed @520, buffered @528, stripes consumed in the current block @532.
import { SCRATCH, STATE_PTR } from './arenas';
import { avalanche64 } from './xxh64';

const P32_1: u64 = 0x9e3779b1;
const P32_2: u64 = 0x85ebca77;
const P32_3: u64 = 0xc2b2ae3d;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P64_1: u64 = 0x9e3779b185ebca87;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P64_2: u64 = 0xc2b2ae3d27d4eb4f;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P64_3: u64 = 0x165667b19e3779f9;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P64_4: u64 = 0x85ebca77c2b2ae63;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P64_5: u64 = 0x27d4eb2f165667c5;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const MX1: u64 = 0x165667919e3779f9;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const MX2: u64 = 0x9fb21c651e98df25;

const SECRET_SIZE: usize = 192;
const STRIPE: usize = 64;
const STRIPES_PER_BLOCK: u32 = 16; // (SECRET_SIZE - STRIPE) / 8
const SCRAMBLE_AT: usize = SECRET_SIZE - STRIPE; // 128
const LAST_STRIPE_AT: usize = SECRET_SIZE - STRIPE - 7; // 121
const MERGE_AT: usize = 11;
const BUF_SIZE: usize = 256;

// The reference implementation's default secret.
const K_SECRET: usize = memory.data<u8>(
  [
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c, 0xde, 0xd4, 0x6d,
    0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f, 0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0,
    0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21, 0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0,
    0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c, 0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b,
    0x1b, 0x53, 0x2e, 0xa3, 0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac,
    0xd8, 0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d, 0x8a, 0x51,
    0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64, 0xea, 0xc5, 0xac, 0x83, 0x34,
    0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb, 0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49,
    0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e, 0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8,
    0xd1, 0x7a, 0xd0, 0x31, 0xce, 0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b,
    0x40, 0x7e,
  ],
  16,
);

// 64x64 -> 128-bit product folded to 64 bits (low ^ high); wasm has no widening multiply, so build it from
// four 32x32 products.
function mulFold(a: u64, b: u64): u64 {
  const aLo = a & 0xffffffff;
  const aHi = a >> 32;
  const bLo = b & 0xffffffff;
  const bHi = b >> 32;
  const lolo = aLo * bLo;
  const hilo = aHi * bLo;
  const lohi = aLo * bHi;
  const hihi = aHi * bHi;
  const cross = (lolo >> 32) + (hilo & 0xffffffff) + lohi;
  const upper = (hilo >> 32) + (cross >> 32) + hihi;
  const lower = (cross << 32) | (lolo & 0xffffffff);
  return lower ^ upper;
}

function avalanche3(h: u64): u64 {
  h ^= h >> 37;
  h *= MX1;
  return h ^ (h >> 32);
}

function mix16(p: usize, s: usize, seed: u64): u64 {
  return mulFold(load<u64>(p) ^ (load<u64>(s) + seed), load<u64>(p, 8) ^ (load<u64>(s, 8) - seed));
}

function len0to16(p: usize, len: usize, s: usize, seed: u64): u64 {
  if (len > 8) {
    const lo = load<u64>(p) ^ ((load<u64>(s, 24) ^ load<u64>(s, 32)) + seed);
    const hi = load<u64>(p + len - 8) ^ ((load<u64>(s, 40) ^ load<u64>(s, 48)) - seed);
    return avalanche3(<u64>len + bswap<u64>(lo) + hi + mulFold(lo, hi));
  }
  if (len >= 4) {
    seed ^= (<u64>bswap<u32>(<u32>seed)) << 32;
    const in1 = <u64>load<u32>(p);
    const in2 = <u64>load<u32>(p + len - 4);
    let h = (in2 + (in1 << 32)) ^ ((load<u64>(s, 8) ^ load<u64>(s, 16)) - seed);
    h ^= rotl<u64>(h, 49) ^ rotl<u64>(h, 24);
    h *= MX2;
    h ^= (h >> 35) + <u64>len;
    h *= MX2;
    return h ^ (h >> 28);
  }
  if (len > 0) {
    const combined =
      ((<u32>load<u8>(p)) << 16) |
      ((<u32>load<u8>(p + (len >> 1))) << 24) |
      <u32>load<u8>(p + len - 1) |
      ((<u32>len) << 8);
    return avalanche64(<u64>combined ^ (<u64>(load<u32>(s) ^ load<u32>(s, 4)) + seed));
  }
  return avalanche64(seed ^ load<u64>(s, 56) ^ load<u64>(s, 64));
}

function len17to128(p: usize, len: usize, s: usize, seed: u64): u64 {
  let acc = <u64>len * P64_1;
  if (len > 32) {
    if (len > 64) {
      if (len > 96) {
        acc += mix16(p + 48, s + 96, seed);
        acc += mix16(p + len - 64, s + 112, seed);
      }
      acc += mix16(p + 32, s + 64, seed);
      acc += mix16(p + len - 48, s + 80, seed);
    }
    acc += mix16(p + 16, s + 32, seed);
    acc += mix16(p + len - 32, s + 48, seed);
  }
  acc += mix16(p, s, seed);
  acc += mix16(p + len - 16, s + 16, seed);
  return avalanche3(acc);
}

function len129to240(p: usize, len: usize, s: usize, seed: u64): u64 {
  let acc = <u64>len * P64_1;
  for (let i: usize = 0; i < 128; i += 16) acc += mix16(p + i, s + i, seed);
  acc = avalanche3(acc);
  const rounds = len & ~15;
  for (let i: usize = 128; i < rounds; i += 16) acc += mix16(p + i, s + i - 125, seed);
  acc += mix16(p + len - 16, s + 119, seed);
  return avalanche3(acc);
}

function shortHash(p: usize, len: usize, seed: u64): u64 {
  if (len <= 16) return len0to16(p, len, K_SECRET, seed);
  if (len <= 128) return len17to128(p, len, K_SECRET, seed);
  return len129to240(p, len, K_SECRET, seed);
}

// Accumulates nbStripes 64-byte stripes into acc, the secret advancing 8 bytes per stripe.
function accumulate(acc: usize, p: usize, s: usize, nbStripes: usize): void {
  if (ASC_FEATURE_SIMD) {
    let a0 = v128.load(acc);
    let a1 = v128.load(acc, 16);
    let a2 = v128.load(acc, 32);
    let a3 = v128.load(acc, 48);
    for (let n: usize = 0; n < nbStripes; n++) {
      const d0 = v128.load(p);
      const d1 = v128.load(p, 16);
      const d2 = v128.load(p, 32);
      const d3 = v128.load(p, 48);
      const k0 = v128.xor(d0, v128.load(s));
      const k1 = v128.xor(d1, v128.load(s, 16));
      const k2 = v128.xor(d2, v128.load(s, 32));
      const k3 = v128.xor(d3, v128.load(s, 48));
      // low and high 32-bit halves of four 64-bit keys, gathered so one extmul multiplies two pairs
      const lo01 = i32x4.shuffle(k0, k1, 0, 2, 4, 6);
      const hi01 = i32x4.shuffle(k0, k1, 1, 3, 5, 7);
      const lo23 = i32x4.shuffle(k2, k3, 0, 2, 4, 6);
      const hi23 = i32x4.shuffle(k2, k3, 1, 3, 5, 7);
      a0 = i64x2.add(a0, i64x2.add(i64x2.extmul_low_i32x4_u(lo01, hi01), i64x2.shuffle(d0, d0, 1, 0)));
      a1 = i64x2.add(a1, i64x2.add(i64x2.extmul_high_i32x4_u(lo01, hi01), i64x2.shuffle(d1, d1, 1, 0)));
      a2 = i64x2.add(a2, i64x2.add(i64x2.extmul_low_i32x4_u(lo23, hi23), i64x2.shuffle(d2, d2, 1, 0)));
      a3 = i64x2.add(a3, i64x2.add(i64x2.extmul_high_i32x4_u(lo23, hi23), i64x2.shuffle(d3, d3, 1, 0)));
      p += STRIPE;
      s += 8;
    }
    v128.store(acc, a0);
    v128.store(acc, a1, 16);
    v128.store(acc, a2, 32);
    v128.store(acc, a3, 48);
  } else {
    let a0 = load<u64>(acc, 0);
    let a1 = load<u64>(acc, 8);
    let a2 = load<u64>(acc, 16);
    let a3 = load<u64>(acc, 24);
    let a4 = load<u64>(acc, 32);
    let a5 = load<u64>(acc, 40);
    let a6 = load<u64>(acc, 48);
    let a7 = load<u64>(acc, 56);
    for (let n: usize = 0; n < nbStripes; n++) {
      const d0 = load<u64>(p, 0);
      const d1 = load<u64>(p, 8);
      const d2 = load<u64>(p, 16);
      const d3 = load<u64>(p, 24);
      const d4 = load<u64>(p, 32);
      const d5 = load<u64>(p, 40);
      const d6 = load<u64>(p, 48);
      const d7 = load<u64>(p, 56);
      const k0 = d0 ^ load<u64>(s, 0);
      const k1 = d1 ^ load<u64>(s, 8);
      const k2 = d2 ^ load<u64>(s, 16);
      const k3 = d3 ^ load<u64>(s, 24);
      const k4 = d4 ^ load<u64>(s, 32);
      const k5 = d5 ^ load<u64>(s, 40);
      const k6 = d6 ^ load<u64>(s, 48);
      const k7 = d7 ^ load<u64>(s, 56);
      a0 += d1 + (k0 & 0xffffffff) * (k0 >> 32);
      a1 += d0 + (k1 & 0xffffffff) * (k1 >> 32);
      a2 += d3 + (k2 & 0xffffffff) * (k2 >> 32);
      a3 += d2 + (k3 & 0xffffffff) * (k3 >> 32);
      a4 += d5 + (k4 & 0xffffffff) * (k4 >> 32);
      a5 += d4 + (k5 & 0xffffffff) * (k5 >> 32);
      a6 += d7 + (k6 & 0xffffffff) * (k6 >> 32);
      a7 += d6 + (k7 & 0xffffffff) * (k7 >> 32);
      p += STRIPE;
      s += 8;
    }
    store<u64>(acc, a0, 0);
    store<u64>(acc, a1, 8);
    store<u64>(acc, a2, 16);
    store<u64>(acc, a3, 24);
    store<u64>(acc, a4, 32);
    store<u64>(acc, a5, 40);
    store<u64>(acc, a6, 48);
    store<u64>(acc, a7, 56);
  }
}

function scramble(acc: usize, s: usize): void {
  for (let i: usize = 0; i < 64; i += 8) {
    let a = load<u64>(acc + i);
    a ^= a >> 47;
    a ^= load<u64>(s + i);
    store<u64>(acc + i, a * P32_1);
  }
}

// Consumes n stripes starting `soFar` stripes into the current block, scrambling at each block end (eagerly,
// as the reference does); returns the new position in the block.
function consumeStripes(acc: usize, s: usize, soFar: u32, p: usize, n: usize): u32 {
  while (n > 0) {
    const room = <usize>(STRIPES_PER_BLOCK - soFar);
    const take = n < room ? n : room;
    accumulate(acc, p, s + ((<usize>soFar) << 3), take);
    p += take * STRIPE;
    n -= take;
    soFar += <u32>take;
    if (soFar === STRIPES_PER_BLOCK) {
      scramble(acc, s + SCRAMBLE_AT);
      soFar = 0;
    }
  }
  return soFar;
}

function initAcc(acc: usize): void {
  store<u64>(acc, P32_3, 0);
  store<u64>(acc, P64_1, 8);
  store<u64>(acc, P64_2, 16);
  store<u64>(acc, P64_3, 24);
  store<u64>(acc, P64_4, 32);
  store<u64>(acc, P32_2, 40);
  store<u64>(acc, P64_5, 48);
  store<u64>(acc, P32_1, 56);
}

function mergeAccs(acc: usize, s: usize, start: u64): u64 {
  let r = start;
  for (let i: usize = 0; i < 64; i += 16) {
    r += mulFold(load<u64>(acc + i) ^ load<u64>(s + i), load<u64>(acc + i, 8) ^ load<u64>(s + i, 8));
  }
  return avalanche3(r);
}

function deriveSecret(dst: usize, seed: u64): void {
  for (let i: usize = 0; i < SECRET_SIZE; i += 16) {
    store<u64>(dst + i, load<u64>(K_SECRET + i) + seed);
    store<u64>(dst + i, load<u64>(K_SECRET + i, 8) - seed, 8);
  }
}

export function xxh3(p: usize, len: usize, seed: u64): u64 {
  if (len <= 240) return shortHash(p, len, seed);
  let s = K_SECRET;
  const acc = STATE_PTR + SCRATCH;
  if (seed !== 0) {
    s = acc + 64;
    deriveSecret(s, seed);
  }
  initAcc(acc);
  consumeStripes(acc, s, 0, p, (len - 1) / STRIPE);
  accumulate(acc, p + len - STRIPE, s + LAST_STRIPE_AT, 1);
  return mergeAccs(acc, s + MERGE_AT, <u64>len * P64_1);
}

export function xxh3Reset(st: usize, seed: u64): void {
  initAcc(st);
  if (seed !== 0) deriveSecret(st + 64, seed);
  else memory.copy(st + 64, K_SECRET, SECRET_SIZE);
  store<u64>(st, 0, 512);
  store<u64>(st, seed, 520);
  store<u32>(st, 0, 528);
  store<u32>(st, 0, 532);
}

// Never consumes the stripe holding the final byte seen so far: digest must treat the true last stripe
// specially. After a large update the 64 bytes before the retained tail are kept at buf+192 for that purpose.
export function xxh3Update(st: usize, p: usize, len: usize): void {
  store<u64>(st, load<u64>(st, 512) + <u64>len, 512);
  const buf = st + 256;
  const s = st + 64;
  let buffered = <usize>load<u32>(st, 528);
  if (buffered + len <= BUF_SIZE) {
    memory.copy(buf + buffered, p, len);
    store<u32>(st, <u32>(buffered + len), 528);
    return;
  }
  let soFar = load<u32>(st, 532);
  if (buffered > 0) {
    const fill = BUF_SIZE - buffered;
    memory.copy(buf + buffered, p, fill);
    p += fill;
    len -= fill;
    soFar = consumeStripes(st, s, soFar, buf, BUF_SIZE / STRIPE);
  }
  const n = (len - 1) / STRIPE;
  if (n > 0) {
    soFar = consumeStripes(st, s, soFar, p, n);
    p += n * STRIPE;
    len -= n * STRIPE;
    memory.copy(buf + BUF_SIZE - STRIPE, p - STRIPE, STRIPE);
  }
  memory.copy(buf, p, len);
  store<u32>(st, <u32>len, 528);
  store<u32>(st, soFar, 532);
}

export function xxh3Digest(st: usize): u64 {
  const total = load<u64>(st, 512);
  const buf = st + 256;
  const buffered = <usize>load<u32>(st, 528);
  if (total <= 240) return shortHash(buf, <usize>total, load<u64>(st, 520));
  const s = st + 64;
  const acc = STATE_PTR + SCRATCH;
  memory.copy(acc, st, 64);
  let last: usize;
  if (buffered >= STRIPE) {
    consumeStripes(acc, s, load<u32>(st, 532), buf, (buffered - 1) / STRIPE);
    last = buf + buffered - STRIPE;
  } else {
    // the last stripe straddles the previous stripe (kept at the end of buf) and the retained tail
    last = acc + 64;
    const catchup = STRIPE - buffered;
    memory.copy(last, buf + BUF_SIZE - catchup, catchup);
    memory.copy(last + catchup, buf, buffered);
  }
  accumulate(acc, last, s + LAST_STRIPE_AT, 1);
  return mergeAccs(acc, s + MERGE_AT, total * P64_1);
}
