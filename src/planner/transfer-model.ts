// The planner's model of a transfer, pure: a stream is pipelined stages (the device's reads, encoding, the link,
// decoding), so moving it takes as long as its slowest stage plus the time one chunk needs to pass the others
// (filling the pipe). The downtime of a stop-and-copy switchover is that transfer plus the fixed costs, through
// the convergence policy's own predictDowntime, so the planner and the migration predict with one model.
import { type DowntimePrediction, type FixedCosts, predictDowntime } from '../migration/convergence-policy.ts';
import { type Strategy, sameStrategy, strategyName } from './strategy-measure.ts';

/** What one device's stream does under one strategy, as measured on its sample. */
export interface StreamRates {
  /** Raw bytes to move. */
  bytes: number;
  /** Stream bytes per raw byte. */
  ratio: number;
  /** Raw bytes per second through the encoding side (all the strategy's workers), and the decoding side. */
  encodeRate: number;
  decodeRate: number;
  /** The device's read rate, bytes/s; absent: not a bottleneck (unknown). */
  readRate?: number | null | undefined;
}

export type Stage = 'device' | 'encode' | 'link' | 'decode';

export interface TransferPrediction {
  bytes: number;
  wireBytes: number;
  /** Each stage's time for all of the data, ms (the link's is 0 without a limit). */
  stageMs: Record<Stage, number>;
  bottleneck: Stage;
  /** The pipe's filling: one chunk through the stages other than the bottleneck, ms. */
  latencyMs: number;
  /** The slowest stage plus the latency, ms. */
  transferMs: number;
}

/**
 * The time to move `streams` together (one per device, in parallel) over a link of `linkRate` bytes/s (Infinity:
 * no limit): the devices read in parallel, the codec threads are shared (their times add), the link is shared (its
 * bytes add). `chunkSize` and `workers` say how big one chunk is and how many threads share a stage.
 */
export function predictTransfer(
  streams: readonly StreamRates[],
  link: { rate: number },
  chunk: { chunkSize: number; workers: number },
): TransferPrediction {
  const bytes = streams.reduce((a, s) => a + s.bytes, 0);
  const wireBytes = streams.reduce((a, s) => a + s.bytes * s.ratio, 0);
  const linkRate = link.rate > 0 ? link.rate : Number.POSITIVE_INFINITY;
  const ms = (n: number, rate: number | null | undefined) => (rate && rate > 0 ? (n * 1000) / rate : 0);
  const stageMs: Record<Stage, number> = {
    device: Math.max(0, ...streams.map((s) => ms(s.bytes, s.readRate))),
    encode: streams.reduce((a, s) => a + ms(s.bytes, s.encodeRate), 0),
    link: Number.isFinite(linkRate) ? (wireBytes * 1000) / linkRate : 0,
    decode: streams.reduce((a, s) => a + ms(s.bytes, s.decodeRate), 0),
  };
  const stages = Object.keys(stageMs) as Stage[];
  const bottleneck = stages.reduce((a, b) => (stageMs[b] > stageMs[a] ? b : a), 'link' as Stage);
  // one chunk's way through the other stages: a codec stage handles a chunk on one thread of `workers`
  const c = Math.min(chunk.chunkSize, bytes);
  const threads = Math.max(1, chunk.workers);
  const one: Record<Stage, number> = {
    device: Math.max(0, ...streams.map((s) => ms(c, s.readRate))),
    encode: Math.max(0, ...streams.map((s) => ms(c * threads, s.encodeRate))),
    link: Number.isFinite(linkRate) ? (c * (wireBytes / Math.max(1, bytes)) * 1000) / linkRate : 0,
    decode: Math.max(0, ...streams.map((s) => ms(c * threads, s.decodeRate))),
  };
  const latencyMs = stages.filter((s) => s !== bottleneck).reduce((a, s) => a + one[s], 0);
  return { bytes, wireBytes, stageMs, bottleneck, latencyMs, transferMs: stageMs[bottleneck] + latencyMs };
}

/** The downtime of a stop-and-copy switchover moving `t`: predictDowntime over the transfer's own rate. */
export function downtimeOf(t: TransferPrediction, costs: FixedCosts): DowntimePrediction {
  const moveMs = t.transferMs - t.latencyMs;
  const rate = moveMs > 0 ? (t.bytes * 1000) / moveMs : Number.POSITIVE_INFINITY;
  return predictDowntime(t.bytes, { rate, latencyMs: t.latencyMs }, costs);
}

/** One strategy as measured on every device's sample. */
export interface StrategyRates {
  strategy: Strategy;
  /** Per device, in the plan's device order. */
  devices: { ratio: number; encodeRate: number; decodeRate: number }[];
}

export interface PlannedStrategy extends StrategyRates {
  name: string;
  transfer: TransferPrediction;
  downtimeMs: number;
}

/** A plan for migrating a set of devices: the strategy to use, what it predicts, and what every candidate gave. */
export interface DevicesPlan {
  recommendation: Strategy;
  /** The stop-and-copy downtime the recommendation predicts, ms. */
  predictedDowntimeMs: number;
  predictionErrorMs: number;
  /** The recommendation's transfer. */
  transfer: TransferPrediction;
  /** Arcs and round trips as measured on the source (the destination assumed alike). */
  fixedCosts: FixedCosts;
  fixedMs: number;
  targetDowntimeMs: number;
  /** Stop-and-copy alone would overrun the target: pre-copy has to move most of the data first. */
  precopyNeeded: boolean;
  /** The link's bytes/s; null for no limit. */
  linkRate: number | null;
  /** The STOP_COPY sizes the devices announced, bytes. */
  stopCopyBytes: number;
  devices: { id: string; stopCopyBytes: number; readRate: number | null }[];
  /** Every strategy measured, best first. */
  strategies: PlannedStrategy[];
}

export interface PlanInput {
  devices: { id: string; stopCopyBytes: number; readRate: number | null }[];
  strategies: readonly StrategyRates[];
  /** bytes/s; Infinity or null: no limit. */
  linkRate: number | null;
  targetDowntimeMs: number;
  fixedCosts: FixedCosts;
}

/** Strategies within this fraction of the fastest count as equally fast: the one with fewer threads wins. */
const TIE = 0.03;

/** The rates a strategy gives the plan's devices, as the transfer model takes them. */
function streamsOf(devices: PlanInput['devices'], s: StrategyRates, bytes?: readonly number[]): StreamRates[] {
  return devices.map((d, i) => ({
    bytes: bytes?.[i] ?? d.stopCopyBytes,
    readRate: d.readRate,
    ...s.devices[i]!,
  }));
}

/**
 * Picks the strategy that moves the devices' STOP_COPY data fastest over the link: each strategy's transfer by
 * predictTransfer, its downtime with the fixed costs; among those within 3% of the fastest (measurement noise), the
 * fewest codec threads (leaving the host its CPUs), then the fastest.
 */
export function planMigration(input: PlanInput): DevicesPlan {
  if (input.strategies.length === 0) throw new RangeError('planMigration needs at least one measured strategy');
  const linkRate = input.linkRate !== null && Number.isFinite(input.linkRate) ? input.linkRate : null;
  const planned: PlannedStrategy[] = input.strategies.map((s) => {
    const transfer = predictTransfer(streamsOf(input.devices, s), { rate: linkRate ?? Infinity }, s.strategy);
    return {
      ...s,
      name: strategyName(s.strategy),
      transfer,
      downtimeMs: downtimeOf(transfer, input.fixedCosts).downtimeMs,
    };
  });
  planned.sort((a, b) => a.transfer.transferMs - b.transfer.transferMs);
  const fastest = planned[0]!.transfer.transferMs;
  const best = planned
    .filter((p) => p.transfer.transferMs <= fastest * (1 + TIE))
    .sort((a, b) => a.strategy.workers - b.strategy.workers || a.transfer.transferMs - b.transfer.transferMs)[0]!;
  const strategies = [best, ...planned.filter((p) => p !== best)];
  const prediction = downtimeOf(best.transfer, input.fixedCosts);
  return {
    recommendation: best.strategy,
    predictedDowntimeMs: prediction.downtimeMs,
    predictionErrorMs: prediction.errorMs,
    transfer: best.transfer,
    fixedCosts: input.fixedCosts,
    fixedMs: prediction.fixedMs,
    targetDowntimeMs: input.targetDowntimeMs,
    precopyNeeded: prediction.downtimeMs > input.targetDowntimeMs,
    linkRate,
    stopCopyBytes: input.devices.reduce((a, d) => a + d.stopCopyBytes, 0),
    devices: input.devices.map((d) => ({ ...d })),
    strategies,
  };
}

/**
 * The downtime a plan predicts for a migration that uses `strategy` (the recommendation, or what the caller chose
 * where the plan measured it) to move `stopCopyBytes` per device over `linkRate`, with the migration's own fixed
 * costs. Null when the plan did not measure that strategy (the caller falls back to its own model).
 */
export function predictWithPlan(
  plan: DevicesPlan,
  strategy: Strategy,
  opts: {
    stopCopyBytes: readonly number[];
    linkRate: number | null | undefined;
    costs: FixedCosts;
  },
): { prediction: DowntimePrediction; transfer: TransferPrediction } | null {
  const s = plan.strategies.find((p) => sameStrategy(p.strategy, strategy));
  if (!s || s.devices.length !== opts.stopCopyBytes.length) return null;
  const rate = opts.linkRate && Number.isFinite(opts.linkRate) ? opts.linkRate : Infinity;
  const transfer = predictTransfer(streamsOf(plan.devices, s, opts.stopCopyBytes), { rate }, strategy);
  return { prediction: downtimeOf(transfer, opts.costs), transfer };
}
