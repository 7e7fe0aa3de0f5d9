// Export surface only: raw entry points over the fixed arenas in arenas.ts. Pointers are byte addresses in this
// module's memory; the host only ever passes addresses inside the arenas.
import {
  CDC_STATE,
  IN_PTR,
  IN_SIZE,
  OUT_PTR,
  OUT_SIZE,
  STATE_PTR,
  STATE_SIZE,
  setupArenas,
  WINDOW_PTR,
  WINDOW_SIZE,
  XXH3_STATE,
  XXH32_OUT,
  XXH32_STATE,
  XXH64_STATE,
} from './arenas';
import { cdcInit } from './cdc';
import { crc32cInit } from './crc32c';

export { cdcNext, cdcReset } from './cdc';
export { crc32cUpdate } from './crc32c';
export { lz4Decompress, lz4SlideWindow } from './lz4-decode';
export { lz4Bound, lz4Compress } from './lz4-encode';
export { simPageFill, simPagePtr } from './sim-page';
export { xxh32And64 } from './xxh-pair';
export { xxh3, xxh3Digest, xxh3Reset, xxh3Update } from './xxh3';
export { xxh32, xxh32Digest, xxh32Reset, xxh32Update } from './xxh32';
export { xxh64, xxh64Digest, xxh64Reset, xxh64Update } from './xxh64';
export { isZero, zeroPages } from './zero';

export function init(): void {
  setupArenas();
  crc32cInit();
  cdcInit();
}

export function inPtr(): usize {
  return IN_PTR;
}
export function inSize(): usize {
  return IN_SIZE;
}
export function windowPtr(): usize {
  return WINDOW_PTR;
}
export function windowSize(): usize {
  return WINDOW_SIZE;
}
export function outPtr(): usize {
  return OUT_PTR;
}
export function outSize(): usize {
  return OUT_SIZE;
}
export function statePtr(): usize {
  return STATE_PTR;
}
export function stateSize(): usize {
  return STATE_SIZE;
}
/** Offsets of the per-kind streaming state slots inside STATE. */
export function xxh64State(): usize {
  return XXH64_STATE;
}
export function xxh32State(): usize {
  return XXH32_STATE;
}
export function xxh3State(): usize {
  return XXH3_STATE;
}
/** Where xxh32And64 leaves its XXH32 (an absolute address, like the arenas'). */
export function xxh32Out(): usize {
  return STATE_PTR + XXH32_OUT;
}
export function cdcState(): usize {
  return CDC_STATE;
}

/** 1 when this build uses SIMD, so the host can report which one it loaded. */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
