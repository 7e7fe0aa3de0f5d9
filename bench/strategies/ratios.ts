// Throughput and the ratio to the native twin. Throughput is raw bytes over (median wall time on the data - median
// wall time on a 4 KiB input), so process start-up (large for a runtime, tiny for a native tool) does not decide a
// short run. The subtraction is floored at a tenth of the wall time so noise cannot make it zero or negative.
import type { SideResult, StrategyResult } from './types.ts';

export const MB = 1e6;

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Seconds the data itself took on one side: median wall minus median start-up, floored at 10% of the wall. */
export function dataSeconds(side: SideResult): number {
  const wall = median(side.seconds);
  const startup = side.startupSeconds.length ? median(side.startupSeconds) : 0;
  return Math.max(wall - startup, wall * 0.1);
}

/** MB/s (10^6 bytes per second) of raw data on one side. */
export function throughputMBps(side: SideResult, bytes: number): number {
  return bytes / MB / dataSeconds(side);
}

/** Ours over the twin, on the same bytes: above 1 ours is faster, below 1 the native tools are. */
export function ratioToTwin(r: StrategyResult): number {
  return throughputMBps(r.ours, r.bytes) / throughputMBps(r.twin, r.bytes);
}

/** Wire bytes per raw byte (the CLI's `ratio`): 1 for no compression, smaller is better. */
export function wireRatio(side: SideResult, bytes: number): number | null {
  return side.wireBytes === null || bytes === 0 ? null : side.wireBytes / bytes;
}
