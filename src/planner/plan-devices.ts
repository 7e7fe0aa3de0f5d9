// The planner end to end: sample each device, measure the candidate strategies on the samples within a time
// bound, and plan the migration over the given link. Two passes: every encoding and chunking on one thread (cheap:
// no worker pool to start), then the best of them with a pool of all the codec threads the machine offers, which
// gives how well threads scale; every strategy is then planned at 1..N threads with that scaling. When the time
// bound runs out, what was measured is planned on (at least one strategy always is).
import { DeviceSet } from '../device/device-set.ts';
import type { MigrationDevice } from '../device/migration-device.ts';
import { throwIfAborted } from '../errors.ts';
import { MigrationFlag } from '../fsm/index.ts';
import type { FixedCosts } from '../migration/convergence-policy.ts';
import { defaultWorkerCount } from '../pipeline/codec-pool.ts';
import { type DeviceSample, type SampleOptions, sampleDevice } from './device-sample.ts';
import {
  CHUNKINGS,
  ENCODINGS,
  measureStrategy,
  type Strategy,
  type StrategyMeasurement,
  strategyName,
  workerCounts,
} from './strategy-measure.ts';
import {
  type DevicesPlan,
  type PlanInput,
  planMigration,
  predictTransfer,
  type StrategyRates,
} from './transfer-model.ts';

export interface PlanOptions {
  /** The link's bytes/s (null or Infinity: no limit; default none). */
  linkRate?: number | null | undefined;
  /** The downtime to aim for, ms (default 300). */
  downtimeMs?: number | undefined;
  /** Per device: bytes kept, and how long its data may be read (see sampleDevice). */
  sampleBytes?: number | undefined;
  sampleTimeMs?: number | undefined;
  /** Bytes per sample window (see sampleDevice). */
  windowBytes?: number | undefined;
  /** How long measuring strategies may take in all, ms (default 3000). */
  measureTimeMs?: number | undefined;
  /** Codec threads to try at most (default: the default worker count, the CPU count up to 4). */
  maxWorkers?: number | undefined;
  /** The control connection's round trip to the destination, ms (default 0: unknown here, as on loopback). */
  rttMs?: number | undefined;
  /** Called after each strategy is measured (all devices). */
  onMeasured?: ((m: { strategy: Strategy; name: string; elapsedMs: number }) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface PlanMeasurement extends StrategyMeasurement {
  /** The device's index in the plan. */
  device: number;
}

export interface DevicesPlanResult {
  plan: DevicesPlan;
  samples: DeviceSample[];
  measurements: PlanMeasurement[];
  /** Strategies left unmeasured when the time bound ran out. */
  skipped: string[];
  /** Time spent measuring strategies, ms. */
  measureMs: number;
  /**
   * What each codec thread beyond the first adds, as a fraction of one thread's rate (measured with a pool of
   * them on the best strategy); null when not measured (one CPU, or no time left): threads then count as no gain.
   */
  threadEfficiency: number | null;
}

/** Arc phases from RUNNING to STOP_COPY in a set: a P2P quiesce phase where a device has P2P, then the stop. */
function stopPhases(devices: readonly MigrationDevice[]): number {
  const p2p = devices.some((d) => (d.flags & MigrationFlag.P2P) !== 0);
  const noP2P = devices.some((d) => (d.flags & MigrationFlag.P2P) === 0);
  return (p2p ? 2 : 0) + (noP2P ? 1 : 0);
}

/** The part of the time bound the one-thread pass may take; the pool's start and run take the rest. */
const PASS_ONE_SHARE = 0.6;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Samples `devices`, measures strategies on the samples, and plans their migration (see the file comment). */
export async function planDevices(
  devices: DeviceSet | readonly MigrationDevice[],
  opts: PlanOptions = {},
): Promise<DevicesPlanResult> {
  const list = devices instanceof DeviceSet ? devices.devices : devices;
  const signal = opts.signal;
  const sampleOpts: SampleOptions = {
    sampleBytes: opts.sampleBytes,
    windowBytes: opts.windowBytes,
    timeMs: opts.sampleTimeMs,
    signal,
  };
  const samples: DeviceSample[] = [];
  for (const d of list) samples.push(await sampleDevice(d, sampleOpts));

  const arcMs = median(samples.flatMap((s) => (s.arcMs === null ? [] : [s.arcMs]))) ?? 1;
  const fixedCosts: FixedCosts = {
    sourceArcMs: arcMs,
    sourceStopPhases: stopPhases(list),
    // the destination's devices are of the same kinds (the handshake insists): their arcs are taken to be alike
    destinationArcMs: arcMs,
    destinationPhases: 3,
    rttMs: opts.rttMs ?? 0,
  };
  const planDevicesInput: PlanInput['devices'] = samples.map((s) => ({
    id: s.device,
    stopCopyBytes: s.stopCopyBytes,
    readRate: s.readRate,
  }));
  const linkRate = opts.linkRate ?? null;
  const budgetMs = opts.measureTimeMs ?? 3000;
  const maxWorkers = opts.maxWorkers ?? defaultWorkerCount();

  const measurements: PlanMeasurement[] = [];
  const skipped: string[] = [];
  const t0 = performance.now();
  /** Measures `strategy` on every sample; null when the time bound ran out (once something was measured). */
  const measure = async (
    strategy: Strategy,
    limitMs: number,
    as: Strategy = strategy,
    decode = true,
  ): Promise<StrategyMeasurement[] | null> => {
    if (measurements.length > 0 && performance.now() - t0 >= limitMs) {
      skipped.push(strategyName(as));
      return null;
    }
    const perDevice: StrategyMeasurement[] = [];
    for (const [i, s] of samples.entries()) {
      throwIfAborted(signal);
      const m = await measureStrategy(s.data, strategy, { signal, decode });
      measurements.push({ device: i, ...m });
      perDevice.push(m);
    }
    opts.onMeasured?.({ strategy, name: strategyName(strategy), elapsedMs: performance.now() - t0 });
    return perDevice;
  };

  // pass 1: every encoding and chunking on one thread (this one: a worker pool takes longer to start than most
  // measurements last, and a migration starts its pools before the downtime)
  const single: { strategy: Strategy; perDevice: StrategyMeasurement[] }[] = [];
  // warm-up, not counted: the wasm core and zstd load, and the JIT compiles the pipeline, on their first use
  const warm = samples[0]!.data.subarray(0, 256 << 10);
  for (const codec of ['lz4', 'zstd'] as const) {
    await measureStrategy(warm, { codec, level: 1, chunking: 'cdc', chunkSize: 64 << 10, workers: 0 }, { signal });
  }
  // pass 1 takes most of the time bound; what is left of it goes to pass 2's pool
  // every encoding with the default chunking first, so a short time bound still compares the codecs
  for (const c of CHUNKINGS) {
    for (const e of ENCODINGS) {
      const strategy: Strategy = { ...e, ...c, workers: 1 };
      const perDevice = await measure({ ...strategy, workers: 0 }, budgetMs * PASS_ONE_SHARE, strategy);
      if (perDevice) single.push({ strategy, perDevice });
    }
  }
  const rates = (s: Strategy, perDevice: readonly StrategyMeasurement[], gain: number): StrategyRates => ({
    strategy: s,
    devices: perDevice.map((m) => ({
      ratio: m.ratio,
      encodeRate: m.encodeRate * gain,
      decodeRate: (m.decodeRate ?? m.encodeRate) * gain,
    })),
  });
  const transferMs = (r: StrategyRates) =>
    predictTransfer(
      planDevicesInput.map((d, i) => ({ bytes: d.stopCopyBytes, readRate: d.readRate, ...r.devices[i]! })),
      { rate: linkRate ?? Infinity },
      r.strategy,
    ).transferMs;
  // pass 2: how much more the codec threads give together, on the most promising strategy with all of them
  let efficiency: number | null = null;
  if (maxWorkers > 1 && single.length > 0) {
    const best = single.reduce((a, b) =>
      transferMs(rates(b.strategy, b.perDevice, 1)) < transferMs(rates(a.strategy, a.perDevice, 1)) ? b : a,
    );
    // the encoding side only: a pool takes a while to start, and the decoding side's threads share the same way
    const pooled = await measure({ ...best.strategy, workers: maxWorkers }, budgetMs, undefined, false);
    if (pooled) {
      // the gain of W threads over one, as (1 + (W - 1) * efficiency)
      const gain = Math.min(...pooled.map((m, i) => m.encodeRate / best.perDevice[i]!.encodeRate));
      efficiency = Math.min(1, Math.max(0, (gain - 1) / (maxWorkers - 1)));
    }
  }
  // every measured strategy at every thread count, scaled by the measured efficiency (none measured: no gain)
  const measured: StrategyRates[] = single.flatMap(({ strategy, perDevice }) =>
    workerCounts(maxWorkers).map((w) => rates({ ...strategy, workers: w }, perDevice, 1 + (w - 1) * (efficiency ?? 0))),
  );
  const measureMs = performance.now() - t0;
  const plan = planMigration({
    devices: planDevicesInput,
    strategies: measured,
    linkRate,
    targetDowntimeMs: opts.downtimeMs ?? 300,
    fixedCosts,
  });
  return { plan, samples, measurements, skipped, measureMs, threadEfficiency: efficiency };
}
