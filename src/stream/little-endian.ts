// Little-endian field access for the record layouts. Sizes and offsets are u64 on the wire and numbers in memory:
// exact below 2^53 (8 PiB), which a reader enforces rather than silently rounding.

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function setU64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, value % 0x1_0000_0000, true);
  dv.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** A u64 as a number, or undefined when it does not fit exactly (>= 2^53). */
export function getU64(dv: DataView, at: number): number | undefined {
  const lo = dv.getUint32(at, true);
  const hi = dv.getUint32(at + 4, true);
  if (hi >= 0x20_0000) return undefined;
  return hi * 0x1_0000_0000 + lo;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
