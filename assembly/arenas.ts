// Fixed, 64 KiB-aligned arenas at the bottom of the heap, laid out once by setupArenas(). The host writes input
// into IN and reads results from OUT; nothing is allocated per call. Sizes are build-time constants so every
// offset below is a constant relative to the base.
//
//   IN      4 MiB + 64 KiB  input of one call (a chunk, a piece of a streamed input, an LZ4 block up to the
//                           compress bound of 4 MiB)
//   WINDOW  64 KiB          LZ4 dictionary: the last 64 KiB of earlier output, directly before OUT, so a
//                           linked block may reference it as if it were part of the output
//   OUT     4 MiB + 64 KiB  results (LZ4 output, up to the compress bound of a 4 MiB block; page maps)
//   STATE   64 KiB          streaming hash states and scratch (one slot per kind, see the *_STATE constants)
//   TABLE   64 KiB          LZ4 compressor hash table
export const ARENA_ALIGN: usize = 65536;
export const IN_SIZE: usize = (4 << 20) + (64 << 10);
export const WINDOW_SIZE: usize = 64 << 10;
export const OUT_SIZE: usize = (4 << 20) + (64 << 10);
export const STATE_SIZE: usize = 64 << 10;
export const TABLE_SIZE: usize = 64 << 10;

// Offsets of the fixed slots inside STATE.
export const XXH64_STATE: usize = 0; // 128 bytes
export const XXH32_STATE: usize = 128; // 64 bytes
export const XXH32_ACC: usize = 192; // 16 bytes: the one-shot XXH32's four accumulators
export const XXH32_OUT: usize = 208; // 4 bytes: the XXH32 xxh32And64 leaves
export const CDC_STATE: usize = 256; // 64 bytes
export const SCRATCH: usize = 512; // 512 bytes: derived XXH3 secret for one-shot seeded hashing
export const XXH3_STATE: usize = 1024; // 1 KiB
export const SIM_PAGE_PALETTE: usize = 2048; // 64 bytes: a simulated texture page's palette
export const SIM_PAGE: usize = 4096; // 4 KiB: one simulated device page, generated for the host to copy or compare

// Set once by init(); __heap_base is only known at link time.
export let IN_PTR: usize = 0;
export let WINDOW_PTR: usize = 0;
export let OUT_PTR: usize = 0;
export let STATE_PTR: usize = 0;
export let TABLE_PTR: usize = 0;

export function setupArenas(): void {
  const base = (__heap_base + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
  IN_PTR = base;
  WINDOW_PTR = IN_PTR + IN_SIZE;
  OUT_PTR = WINDOW_PTR + WINDOW_SIZE;
  STATE_PTR = OUT_PTR + OUT_SIZE;
  TABLE_PTR = STATE_PTR + STATE_SIZE;
  const needed = <i32>((TABLE_PTR + TABLE_SIZE + 0xffff) >>> 16);
  const have = memory.size();
  if (needed > have) memory.grow(needed - have);
}
