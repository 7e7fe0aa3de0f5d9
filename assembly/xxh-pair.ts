// XXH32 and XXH64 (seed 0) of the same bytes in one pass. An LZ4 chunk's bytes are hashed twice, XXH32 for the
// frame's content checksum and XXH64 for the chunk's descriptor; each hash is a chain of dependent multiplies, and
// run side by side in one loop the two chains fill each other's stalls, so the pair costs about what XXH32 alone does.
import { STATE_PTR, XXH32_ACC, XXH32_OUT } from './arenas';
import { finish32, round32, stripes, xxh32 } from './xxh32';
import { converge, finish, round64, xxh64 } from './xxh64';

const P32_1: u32 = 0x9e3779b1;
const P32_2: u32 = 0x85ebca77;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P64_1: u64 = 0x9e3779b185ebca87;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P64_2: u64 = 0xc2b2ae3d27d4eb4f;

/** Returns XXH64(p, len) and leaves XXH32(p, len) at xxh32Out() (a u32 in STATE). */
export function xxh32And64(p: usize, len: usize): u64 {
  const out32 = STATE_PTR + XXH32_OUT;
  if (len < 32) {
    store<u32>(out32, xxh32(p, len, 0));
    return xxh64(p, len, 0);
  }
  const end = p + len;
  const acc = STATE_PTR + XXH32_ACC;
  store<u32>(acc, P32_1 + P32_2, 0);
  store<u32>(acc, P32_2, 4);
  store<u32>(acc, 0, 8);
  store<u32>(acc, 0 - P32_1, 12);
  let v1: u64 = P64_1 + P64_2;
  let v2: u64 = P64_2;
  let v3: u64 = 0;
  let v4: u64 = 0 - P64_1;
  const limit = end - 32;
  if (ASC_FEATURE_SIMD) {
    const k1 = i32x4.splat(P32_1);
    const k2 = i32x4.splat(P32_2);
    let a = v128.load(acc);
    do {
      v1 = round64(v1, load<u64>(p));
      v2 = round64(v2, load<u64>(p, 8));
      v3 = round64(v3, load<u64>(p, 16));
      v4 = round64(v4, load<u64>(p, 24));
      a = i32x4.add(a, i32x4.mul(v128.load(p), k2));
      a = i32x4.mul(v128.or(i32x4.shl(a, 13), i32x4.shr_u(a, 19)), k1);
      a = i32x4.add(a, i32x4.mul(v128.load(p, 16), k2));
      a = i32x4.mul(v128.or(i32x4.shl(a, 13), i32x4.shr_u(a, 19)), k1);
      p += 32;
    } while (p <= limit);
    v128.store(acc, a);
  } else {
    // the four XXH32 lanes in locals: through memory (stripes()) the pair ran slower than the two hashes in turn
    let a1 = load<u32>(acc, 0);
    let a2 = load<u32>(acc, 4);
    let a3 = load<u32>(acc, 8);
    let a4 = load<u32>(acc, 12);
    do {
      v1 = round64(v1, load<u64>(p));
      v2 = round64(v2, load<u64>(p, 8));
      v3 = round64(v3, load<u64>(p, 16));
      v4 = round64(v4, load<u64>(p, 24));
      a1 = round32(round32(a1, load<u32>(p)), load<u32>(p, 16));
      a2 = round32(round32(a2, load<u32>(p, 4)), load<u32>(p, 20));
      a3 = round32(round32(a3, load<u32>(p, 8)), load<u32>(p, 24));
      a4 = round32(round32(a4, load<u32>(p, 12)), load<u32>(p, 28));
      p += 32;
    } while (p <= limit);
    store<u32>(acc, a1, 0);
    store<u32>(acc, a2, 4);
    store<u32>(acc, a3, 8);
    store<u32>(acc, a4, 12);
  }
  const h64 = finish(converge(v1, v2, v3, v4) + <u64>len, p, end - p);
  // XXH32 takes 16-byte stripes: one more may be left in the < 32-byte tail
  if (end - p >= 16) p = stripes(acc, p, 1);
  const h32 =
    rotl<u32>(load<u32>(acc, 0), 1) +
    rotl<u32>(load<u32>(acc, 4), 7) +
    rotl<u32>(load<u32>(acc, 8), 12) +
    rotl<u32>(load<u32>(acc, 12), 18);
  store<u32>(out32, finish32(h32 + <u32>len, p, end - p));
  return h64;
}
