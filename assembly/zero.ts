// Zero detection at memory speed: OR wide words together and test rarely (every 256 bytes), so the loop is
// load-bound. Early exit keeps non-zero chunks cheap.
function allZero(p: usize, len: usize): bool {
  const end = p + len;
  if (ASC_FEATURE_SIMD) {
    while (p + 256 <= end) {
      let v = v128.or(v128.load(p), v128.load(p, 16));
      v = v128.or(v, v128.or(v128.load(p, 32), v128.load(p, 48)));
      v = v128.or(v, v128.or(v128.load(p, 64), v128.load(p, 80)));
      v = v128.or(v, v128.or(v128.load(p, 96), v128.load(p, 112)));
      v = v128.or(v, v128.or(v128.load(p, 128), v128.load(p, 144)));
      v = v128.or(v, v128.or(v128.load(p, 160), v128.load(p, 176)));
      v = v128.or(v, v128.or(v128.load(p, 192), v128.load(p, 208)));
      v = v128.or(v, v128.or(v128.load(p, 224), v128.load(p, 240)));
      if (v128.any_true(v)) return false;
      p += 256;
    }
    while (p + 16 <= end) {
      if (v128.any_true(v128.load(p))) return false;
      p += 16;
    }
  } else {
    // two accumulators over 128 bytes: independent OR chains, one test per 128 bytes
    while (p + 128 <= end) {
      const a = load<u64>(p) | load<u64>(p, 8) | load<u64>(p, 16) | load<u64>(p, 24);
      const b = load<u64>(p, 32) | load<u64>(p, 40) | load<u64>(p, 48) | load<u64>(p, 56);
      const c = load<u64>(p, 64) | load<u64>(p, 72) | load<u64>(p, 80) | load<u64>(p, 88);
      const d = load<u64>(p, 96) | load<u64>(p, 104) | load<u64>(p, 112) | load<u64>(p, 120);
      if ((a | b | c | d) !== 0) return false;
      p += 128;
    }
    while (p + 8 <= end) {
      if (load<u64>(p) !== 0) return false;
      p += 8;
    }
  }
  while (p < end) {
    if (load<u8>(p) !== 0) return false;
    p++;
  }
  return true;
}

/** 1 when [p, p+len) is all zero bytes. */
export function isZero(p: usize, len: usize): i32 {
  return allZero(p, len) ? 1 : 0;
}

/**
 * Writes one byte per page of [p, p+len) to out (1 = all zero; the last page may be short) and returns how
 * many pages are zero.
 */
export function zeroPages(p: usize, len: usize, pageSize: usize, out: usize): u32 {
  let zeros: u32 = 0;
  const end = p + len;
  while (p < end) {
    const n = end - p < pageSize ? end - p : pageSize;
    const z = allZero(p, n);
    store<u8>(out, z ? 1 : 0);
    zeros += z ? 1 : 0;
    out++;
    p += n;
  }
  return zeros;
}
