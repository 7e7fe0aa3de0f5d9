// Export surface only: raw entry points over the fixed arenas in arenas.ts.
import { crc32cInit } from './crc32c';
import { IN_PTR, IN_SIZE, OUT_PTR, OUT_SIZE, setupArenas } from './arenas';

export { crc32cUpdate } from './crc32c';

export function init(): void {
  setupArenas();
  crc32cInit();
}

export function inPtr(): usize {
  return IN_PTR;
}
export function inSize(): usize {
  return IN_SIZE;
}
export function outPtr(): usize {
  return OUT_PTR;
}
export function outSize(): usize {
  return OUT_SIZE;
}

/** 1 when this build uses SIMD, so the host can report which one it loaded. */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
