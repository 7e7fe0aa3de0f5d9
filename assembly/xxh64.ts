// XXH64 (xxHash 64-bit), one-shot and streaming, bit-identical to the reference (`xxhsum -H1`).
// Streaming state (XXH64_STATE slot, 128 bytes): v1..v4 @0..31, total length @32, seed @40, buffered @48,
// pending partial stripe (< 32 bytes) @64.
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P1: u64 = 0x9e3779b185ebca87;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P2: u64 = 0xc2b2ae3d27d4eb4f;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P3: u64 = 0x165667b19e3779f9;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P4: u64 = 0x85ebca77c2b2ae63;
// biome-ignore lint/correctness/noPrecisionLoss: an exact u64 literal in AssemblyScript
const P5: u64 = 0x27d4eb2f165667c5;

export function round64(acc: u64, input: u64): u64 {
  return round(acc, input);
}

function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

function mergeRound(h: u64, v: u64): u64 {
  return (h ^ round(0, v)) * P1 + P4;
}

export function avalanche64(h: u64): u64 {
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  return h ^ (h >> 32);
}

// Folds the < 32-byte tail into h and avalanches.
export function finish(h: u64, p: usize, len: usize): u64 {
  while (len >= 8) {
    h = rotl<u64>(h ^ round(0, load<u64>(p)), 27) * P1 + P4;
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3;
    p += 4;
    len -= 4;
  }
  while (len > 0) {
    h = rotl<u64>(h ^ (<u64>load<u8>(p) * P5), 11) * P1;
    p++;
    len--;
  }
  return avalanche64(h);
}

export function converge(v1: u64, v2: u64, v3: u64, v4: u64): u64 {
  let h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
  h = mergeRound(h, v1);
  h = mergeRound(h, v2);
  h = mergeRound(h, v3);
  return mergeRound(h, v4);
}

export function xxh64(p: usize, len: usize, seed: u64): u64 {
  let h: u64;
  const end = p + len;
  if (len >= 32) {
    let v1 = seed + P1 + P2;
    let v2 = seed + P2;
    let v3 = seed;
    let v4 = seed - P1;
    const limit = end - 32;
    do {
      v1 = round(v1, load<u64>(p));
      v2 = round(v2, load<u64>(p, 8));
      v3 = round(v3, load<u64>(p, 16));
      v4 = round(v4, load<u64>(p, 24));
      p += 32;
    } while (p <= limit);
    h = converge(v1, v2, v3, v4);
  } else {
    h = seed + P5;
  }
  return finish(h + <u64>len, p, end - p);
}

export function xxh64Reset(st: usize, seed: u64): void {
  store<u64>(st, seed + P1 + P2, 0);
  store<u64>(st, seed + P2, 8);
  store<u64>(st, seed, 16);
  store<u64>(st, seed - P1, 24);
  store<u64>(st, 0, 32);
  store<u64>(st, seed, 40);
  store<u32>(st, 0, 48);
}

export function xxh64Update(st: usize, p: usize, len: usize): void {
  store<u64>(st, load<u64>(st, 32) + <u64>len, 32);
  let buffered = <usize>load<u32>(st, 48);
  const buf = st + 64;
  if (buffered + len < 32) {
    memory.copy(buf + buffered, p, len);
    store<u32>(st, <u32>(buffered + len), 48);
    return;
  }
  let v1 = load<u64>(st, 0);
  let v2 = load<u64>(st, 8);
  let v3 = load<u64>(st, 16);
  let v4 = load<u64>(st, 24);
  if (buffered) {
    const fill: usize = 32 - buffered;
    memory.copy(buf + buffered, p, fill);
    p += fill;
    len -= fill;
    v1 = round(v1, load<u64>(buf));
    v2 = round(v2, load<u64>(buf, 8));
    v3 = round(v3, load<u64>(buf, 16));
    v4 = round(v4, load<u64>(buf, 24));
  }
  while (len >= 32) {
    v1 = round(v1, load<u64>(p));
    v2 = round(v2, load<u64>(p, 8));
    v3 = round(v3, load<u64>(p, 16));
    v4 = round(v4, load<u64>(p, 24));
    p += 32;
    len -= 32;
  }
  store<u64>(st, v1, 0);
  store<u64>(st, v2, 8);
  store<u64>(st, v3, 16);
  store<u64>(st, v4, 24);
  memory.copy(buf, p, len);
  store<u32>(st, <u32>len, 48);
}

export function xxh64Digest(st: usize): u64 {
  const total = load<u64>(st, 32);
  const h =
    total >= 32
      ? converge(load<u64>(st, 0), load<u64>(st, 8), load<u64>(st, 16), load<u64>(st, 24))
      : load<u64>(st, 40) + P5;
  return finish(h + total, st + 64, <usize>load<u32>(st, 48));
}
