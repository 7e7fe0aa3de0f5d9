// What every save and load reports about the transfer itself, from the final progress event and the byte budget.
import type { ByteBudget } from './byte-budget.ts';
import type { ProgressEvent } from './progress-meter.ts';

/** What every save and load result reports about the transfer (the CLI's --json has the same names). */
export interface TransferStats {
  /** Raw device bytes. */
  bytes: number;
  /** Stream bytes written (save) or read (load), header to trailer. */
  wireBytes: number;
  /** wireBytes / bytes. */
  ratio: number;
  /** Milliseconds from start to end. */
  elapsedMs: number;
  /** Raw bytes per second. */
  throughput: number;
  /** Codec threads used (0: on the calling thread). */
  workers: number;
  /** The byte budget's capacity. */
  budget: number;
  /** The most bytes ever in flight. */
  peakInFlight: number;
}

export function transferStats(final: ProgressEvent, workers: number, budget: ByteBudget | null): TransferStats {
  return {
    bytes: final.bytes,
    wireBytes: final.wireBytes,
    ratio: final.ratio,
    elapsedMs: final.elapsedMs,
    throughput: final.elapsedMs > 0 ? (final.bytes * 1000) / final.elapsedMs : 0,
    workers,
    budget: budget?.capacity ?? 0,
    peakInFlight: budget?.peak ?? 0,
  };
}
