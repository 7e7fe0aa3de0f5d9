// When to switch over. The downtime a switchover would cost now is predicted from what this migration measured:
// the data the devices still hold for STOP_COPY, the throughput the pre-copy rounds reached end to end (device,
// pipeline, link), and the fixed costs (the source's stop arcs, the destination's finish and start arcs, the round
// trips of the final handshake). Pre-copy goes on while the prediction is over the target; past the round or time
// limit the policy switches over anyway (reporting the prediction) or aborts, as the caller chose.

export interface ConvergenceSettings {
  /** The downtime to aim for, in ms (default 300, as QEMU's downtime-limit). */
  downtimeMs: number;
  /** Pre-copy rounds at most (default 30). */
  maxRounds: number;
  /** Pre-copy time at most, in ms (default 300 s). */
  maxTimeMs: number;
  /** What to do when the limits run out without convergence (default: switch over and report the prediction). */
  onNoConverge: 'switch' | 'abort';
}

export const DEFAULT_CONVERGENCE: ConvergenceSettings = {
  downtimeMs: 300,
  maxRounds: 30,
  maxTimeMs: 300_000,
  onNoConverge: 'switch',
};

/** The fixed costs of a switchover, measured in this migration. */
export interface FixedCosts {
  /** Mean duration of a source device arc so far (RUNNING -> PRE_COPY, ...), ms. */
  sourceArcMs: number;
  /** Arc phases the source runs to reach STOP_COPY (quiesce, then stop: 1 to 3). */
  sourceStopPhases: number;
  /** Mean duration of a destination device arc so far (STOP -> RESUMING, ...), ms. */
  destinationArcMs: number;
  /** Arc phases the destination runs to finish and start (RESUMING -> STOP, then the resume phases). */
  destinationPhases: number;
  /** The control connection's round trip, ms. */
  rttMs: number;
}

/**
 * The typical duration of a plain arc (one that opens no data session: quiescing, stopping, starting), the median
 * of those seen; arcs that open a session (connecting an fd) are slower and say nothing of a switchover's arcs.
 */
export function plainArcMs(
  arcs: readonly { from: number; to: number; ms: number }[],
  opens: (from: number, to: number) => boolean,
): number | undefined {
  const plain = arcs
    .filter((a) => !opens(a.from, a.to))
    .map((a) => a.ms)
    .sort((a, b) => a - b);
  return plain.length > 0 ? plain[plain.length >> 1] : undefined;
}

export interface DowntimePrediction {
  /** The predicted downtime, ms. */
  downtimeMs: number;
  /** How far off it may be, ms (the measured downtime should fall within downtimeMs ± errorMs). */
  errorMs: number;
  /** The STOP_COPY data over the throughput, ms. */
  transferMs: number;
  /** Arcs and round trips, ms. */
  fixedMs: number;
  /** Raw bytes left for STOP_COPY. */
  remainingBytes: number;
  /** The raw throughput the prediction assumes, bytes/s. */
  throughput: number;
}

/**
 * The downtime a switchover now would cost. The data moves as a round does: a fixed latency (reading the device's
 * end, the pipeline, the trailer) plus the bytes over the throughput. The final handshake is ready (destination)
 * -> go (source) -> started (destination): one and a half round trips. The error allows for the throughput varying
 * by its measured spread (at least 15%) and for arcs taking twice their mean.
 */
export function predictDowntime(
  remainingBytes: number,
  transfer: { rate: number; latencyMs?: number; spread?: number },
  costs: FixedCosts,
): DowntimePrediction {
  const latencyMs = transfer.latencyMs ?? 0;
  const transferMs = transfer.rate > 0 ? latencyMs + (remainingBytes * 1000) / transfer.rate : Number.POSITIVE_INFINITY;
  const arcsMs = costs.sourceStopPhases * costs.sourceArcMs + costs.destinationPhases * costs.destinationArcMs;
  const fixedMs = arcsMs + 1.5 * costs.rttMs;
  // + 25 ms: what no round shows of a STOP_COPY part's own costs (the trailer, the last chunk through the pipeline)
  const errorMs = Math.max(0.15, transfer.spread ?? 0) * transferMs + arcsMs + costs.rttMs + 25;
  return {
    downtimeMs: transferMs + fixedMs,
    errorMs,
    transferMs,
    fixedMs,
    remainingBytes,
    throughput: transfer.rate,
  };
}

/** Below this a round's time says nothing of the throughput. */
const SMALL_ROUND = 64 << 10;

/**
 * What the pre-copy rounds say about moving data: each round took a fixed latency plus its bytes over the
 * throughput, so a least-squares line through (bytes, ms) gives both, and the STOP_COPY part is one more round.
 */
export class ThroughputMeter {
  readonly #samples: [bytes: number, ms: number][] = [];

  add(bytes: number, ms: number): void {
    if (ms > 0) this.#samples.push([bytes, ms]);
  }

  /** Bytes per second (0 until something moved). */
  get rate(): number {
    return this.fit().rate;
  }

  /** The latency every round pays whatever its size, ms. */
  get latencyMs(): number {
    return this.fit().latencyMs;
  }

  /** The relative spread of the rate over rounds large enough to tell one (at least 64 KiB), 0 with fewer than two. */
  get spread(): number {
    const { latencyMs } = this.fit();
    const rates = this.#samples
      .filter(([b, ms]) => b >= SMALL_ROUND && ms > latencyMs)
      .map(([b, ms]) => (b * 1000) / (ms - latencyMs));
    if (rates.length < 2) return 0;
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    const variance = rates.reduce((a, b) => a + (b - mean) ** 2, 0) / (rates.length - 1);
    return Math.sqrt(variance) / mean;
  }

  /**
   * The throughput and the fixed latency of a round, from the rounds large enough to tell (at least 64 KiB): a
   * least-squares line through their (bytes, ms) when there are two sizes to tell apart, else their bytes over
   * their time. Small rounds mostly wait for a running device to dirty something (pacing), which says nothing of
   * the STOP_COPY part; they only bound the latency from above. With no large round at all (a device whose state
   * is a few hundred bytes, as mtty's), a round's time is its own cost, not its bytes': the typical (median)
   * round stands for the latency, and what is left is assumed to move at least as fast as a large round's worth
   * within that time would (taking a handful of bytes' time as a rate would predict seconds for a few bytes).
   */
  fit(): { rate: number; latencyMs: number } {
    const big = this.#samples.filter(([b]) => b >= SMALL_ROUND);
    if (big.length === 0 && this.#samples.length > 0) {
      const times = this.#samples.map(([, t]) => t).sort((a, b) => a - b);
      const median = times[times.length >> 1]!;
      const bytes = this.#samples.reduce((a, [b]) => a + b, 0);
      const ms = times.reduce((a, t) => a + t, 0);
      return { rate: Math.max((bytes * 1000) / ms, (SMALL_ROUND * 1000) / median), latencyMs: median };
    }
    const use = big;
    const bytes = use.reduce((a, [b]) => a + b, 0);
    const ms = use.reduce((a, [, t]) => a + t, 0);
    if (bytes === 0 || ms === 0) return { rate: 0, latencyMs: 0 };
    const n = use.length;
    const mb = bytes / n;
    const mt = ms / n;
    const sbb = use.reduce((a, [b]) => a + (b - mb) ** 2, 0);
    const slope = sbb > 0 ? use.reduce((a, [b, t]) => a + (b - mb) * (t - mt), 0) / sbb : 0;
    if (n < 2 || slope <= 0) return { rate: (bytes * 1000) / ms, latencyMs: 0 };
    const ceiling = Math.min(...this.#samples.map(([, t]) => t));
    const latencyMs = Math.min(Math.max(0, mt - slope * mb), ceiling);
    return { rate: (bytes * 1000) / Math.max(1e-9, ms - n * latencyMs), latencyMs };
  }
}

export type ConvergenceReason = 'downtime-target' | 'max-rounds' | 'max-time' | 'no-precopy' | 'manual';

export interface ConvergenceDecision {
  action: 'continue' | 'switchover' | 'abort';
  /** Why it switches over or aborts (absent while it continues). */
  reason?: ConvergenceReason | undefined;
  /** The prediction met the target. */
  converged: boolean;
  prediction: DowntimePrediction;
}

export class ConvergencePolicy {
  readonly settings: ConvergenceSettings;

  constructor(settings: Partial<ConvergenceSettings> = {}) {
    // a setting given as undefined (an option not passed) keeps its default
    const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
    this.settings = { ...DEFAULT_CONVERGENCE, ...given };
  }

  /** After pre-copy round `round` (1-based), `elapsedMs` into pre-copy: go on, switch over, or give up. */
  evaluate(round: number, elapsedMs: number, prediction: DowntimePrediction): ConvergenceDecision {
    const s = this.settings;
    const converged = prediction.downtimeMs <= s.downtimeMs;
    if (converged) return { action: 'switchover', reason: 'downtime-target', converged, prediction };
    const out: ConvergenceReason | null =
      round >= s.maxRounds ? 'max-rounds' : elapsedMs >= s.maxTimeMs ? 'max-time' : null;
    if (!out) return { action: 'continue', converged, prediction };
    return { action: s.onNoConverge === 'abort' ? 'abort' : 'switchover', reason: out, converged, prediction };
  }
}
