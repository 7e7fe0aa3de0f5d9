// Content-defined chunking, FastCDC style: a gear rolling hash (fp = (fp << 1) + GEAR[byte]) tested against a
// stricter mask before the average size and a looser one after it (normalized chunking), no cut before the
// minimum size (those bytes are not even hashed) and a forced cut at the maximum.
//
// State (CDC_STATE slot): fp @0, bytes in the current chunk @8, min @12, avg @16, max @20, maskS @24, maskL @32.
const GEAR: usize = memory.data(256 * 8, 16);

// The gear table: 256 pseudo-random 64-bit values from splitmix64 with a fixed seed, so cut points are stable
// across builds and versions (changing it would change every chunk boundary).
export function cdcInit(): void {
  // biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
  let x: u64 = 0x766669f2d6d1c3a5;
  for (let i: usize = 0; i < 256; i++) {
    // biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
    x += 0x9e3779b97f4a7c15;
    let z = x;
    // biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    // biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    store<u64>(GEAR + (i << 3), z ^ (z >> 31));
  }
}

// A mask of `bits` ones in the top bits: those depend on the last 64 bytes, the low bits only on the last few.
function topMask(bits: u32): u64 {
  return bits === 0 ? 0 : ~(<u64>0) << (64 - <u64>bits);
}

export function cdcReset(st: usize, min: u32, avg: u32, max: u32): void {
  const bits = 31 - clz<u32>(avg);
  store<u64>(st, 0, 0);
  store<u32>(st, 0, 8);
  store<u32>(st, min, 12);
  store<u32>(st, avg, 16);
  store<u32>(st, max, 20);
  store<u64>(st, topMask(bits + 2), 24);
  store<u64>(st, topMask(bits > 2 ? bits - 2 : 1), 32);
}

/**
 * Scans [p, p+len) continuing the chunk in progress. Returns the length consumed up to and including the next
 * cut (the chunk ends there; state is reset for the next one), or -1 when the whole input was consumed without
 * a cut (state carried to the next call).
 */
export function cdcNext(st: usize, p: usize, len: usize): i32 {
  let fp = load<u64>(st, 0);
  const pos0 = <usize>load<u32>(st, 8);
  const min = <usize>load<u32>(st, 12);
  const avg = <usize>load<u32>(st, 16);
  const max = <usize>load<u32>(st, 20);
  const maskS = load<u64>(st, 24);
  const maskL = load<u64>(st, 32);
  const start = p;
  const end = p + len;
  // chunk position of p is pos0 + (p - start); bytes below the minimum size are skipped, not hashed
  if (pos0 < min) p += min - pos0 < len ? min - pos0 : len;
  let limit = start + (avg > pos0 ? avg - pos0 : 0);
  if (limit > end) limit = end;
  while (p < limit) {
    fp = (fp << 1) + load<u64>(GEAR + ((<usize>load<u8>(p)) << 3));
    p++;
    if ((fp & maskS) === 0) return cutAt(st, p - start);
  }
  limit = start + (max > pos0 ? max - pos0 : 0);
  if (limit > end) limit = end;
  while (p < limit) {
    fp = (fp << 1) + load<u64>(GEAR + ((<usize>load<u8>(p)) << 3));
    p++;
    if ((fp & maskL) === 0) return cutAt(st, p - start);
  }
  if (pos0 + (p - start) >= max) return cutAt(st, p - start);
  store<u64>(st, fp, 0);
  store<u32>(st, <u32>(pos0 + (p - start)), 8);
  return -1;
}

function cutAt(st: usize, consumed: usize): i32 {
  store<u64>(st, 0, 0);
  store<u32>(st, 0, 8);
  return <i32>consumed;
}
