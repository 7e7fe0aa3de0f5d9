// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8 over a table built once at start.
const POLY: u32 = 0x82f63b78;
const TABLE: usize = memory.data(8 * 256 * 4, 16);

export function crc32cInit(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    store<u32>(TABLE + ((<usize>i) << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(TABLE + ((<usize>i) << 2));
    for (let t: usize = 1; t < 8; t++) {
      c = load<u32>(TABLE + ((<usize>(c & 0xff)) << 2)) ^ (c >>> 8);
      store<u32>(TABLE + (t << 10) + ((<usize>i) << 2), c);
    }
  }
}

function tab(t: usize, b: u32): u32 {
  return load<u32>(TABLE + (t << 10) + ((<usize>(b & 0xff)) << 2));
}

/** Continues a CRC32C over [ptr, ptr+len); pass 0 to start. */
export function crc32cUpdate(crc: u32, ptr: usize, len: usize): u32 {
  let c = ~crc;
  const end = ptr + len;
  while (ptr + 8 <= end) {
    const lo = load<u32>(ptr) ^ c;
    const hi = load<u32>(ptr, 4);
    c =
      tab(7, lo) ^
      tab(6, lo >>> 8) ^
      tab(5, lo >>> 16) ^
      tab(4, lo >>> 24) ^
      tab(3, hi) ^
      tab(2, hi >>> 8) ^
      tab(1, hi >>> 16) ^
      tab(0, hi >>> 24);
    ptr += 8;
  }
  while (ptr < end) {
    c = tab(0, c ^ load<u8>(ptr)) ^ (c >>> 8);
    ptr++;
  }
  return ~c;
}
