// The planner's transfer model, pure: the slowest stage plus one chunk through the others, the downtime through
// the convergence policy's predictDowntime, the choice of strategy, and a plan as a migration's defaults.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FixedCosts } from '../../src/migration/index.ts';
import {
  type DevicesPlan,
  downtimeOf,
  planMigration,
  predictTransfer,
  predictWithPlan,
  type Strategy,
  type StrategyRates,
} from '../../src/planner/index.ts';
import { strategyOf, withPlanDefaults } from '../../src/planner/plan-defaults.ts';

const MB = 1e6;
const costs: FixedCosts = { sourceArcMs: 2, sourceStopPhases: 1, destinationArcMs: 3, destinationPhases: 3, rttMs: 4 };
const lz4: Strategy = { codec: 'lz4', level: 1, chunking: 'fixed', chunkSize: 1 << 20, workers: 2 };

describe('predictTransfer', () => {
  it('a link-bound stream: wire bytes over the link, plus one chunk through the other stages', () => {
    const t = predictTransfer(
      [{ bytes: 100 * MB, ratio: 0.5, encodeRate: 1000 * MB, decodeRate: 2000 * MB, readRate: 500 * MB }],
      { rate: 10 * MB },
      { chunkSize: 1 * MB, workers: 1 },
    );
    expect(t.bottleneck).toBe('link');
    expect(t.wireBytes).toBe(50 * MB);
    expect(t.stageMs).toEqual({ device: 200, encode: 100, link: 5000, decode: 50 });
    // one 1 MB chunk: 2 ms reading, 1 ms encoding, 0.5 ms decoding
    expect(t.latencyMs).toBeCloseTo(3.5, 9);
    expect(t.transferMs).toBeCloseTo(5003.5, 9);
  });

  it('the slowest stage bounds it: a slow codec, a slow device, no link limit', () => {
    const codec = predictTransfer(
      [{ bytes: 100 * MB, ratio: 0.25, encodeRate: 20 * MB, decodeRate: 400 * MB }],
      { rate: 100 * MB },
      { chunkSize: 1 * MB, workers: 4 },
    );
    expect(codec.bottleneck).toBe('encode');
    expect(codec.stageMs.encode).toBe(5000);
    // a chunk is encoded by one of four threads: a quarter of the rate
    expect(codec.latencyMs).toBeCloseTo(2.5 + 10, 9);
    const device = predictTransfer(
      [{ bytes: 100 * MB, ratio: 1, encodeRate: 1e9, decodeRate: 1e9, readRate: 50 * MB }],
      { rate: Number.POSITIVE_INFINITY },
      { chunkSize: 1 * MB, workers: 1 },
    );
    expect(device.bottleneck).toBe('device');
    expect(device.stageMs.link).toBe(0);
    expect(device.stageMs.device).toBe(2000);
  });

  it('devices read in parallel; the codec threads and the link are shared, so their times add', () => {
    const one = { bytes: 10 * MB, ratio: 0.5, encodeRate: 100 * MB, decodeRate: 200 * MB, readRate: 50 * MB };
    const t = predictTransfer([one, { ...one, readRate: 25 * MB }], { rate: 10 * MB }, { chunkSize: MB, workers: 1 });
    expect(t.stageMs).toEqual({ device: 400, encode: 200, link: 1000, decode: 100 });
    expect(t.bytes).toBe(20 * MB);
  });

  it('property: never faster than any stage, and monotone in the link rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.double({ min: 0.01, max: 1.1, noNaN: true }),
        fc.integer({ min: 1e6, max: 1e10 }),
        fc.integer({ min: 1e6, max: 1e10 }),
        fc.integer({ min: 1e5, max: 1e10 }),
        (bytes, ratio, encodeRate, decodeRate, link) => {
          const s = [{ bytes, ratio, encodeRate, decodeRate }];
          const c = { chunkSize: 1 << 20, workers: 2 };
          const t = predictTransfer(s, { rate: link }, c);
          for (const ms of Object.values(t.stageMs)) expect(t.transferMs).toBeGreaterThanOrEqual(ms);
          expect(predictTransfer(s, { rate: link * 2 }, c).transferMs).toBeLessThanOrEqual(t.transferMs + 1e-9);
        },
      ),
    );
  });
});

describe('downtimeOf', () => {
  it('is the transfer plus the fixed costs of predictDowntime (arcs, one and a half round trips)', () => {
    const t = predictTransfer(
      [{ bytes: 10 * MB, ratio: 0.5, encodeRate: 1e9, decodeRate: 1e9 }],
      { rate: 5 * MB },
      { chunkSize: MB, workers: 1 },
    );
    const d = downtimeOf(t, costs);
    expect(d.fixedMs).toBe(1 * 2 + 3 * 3 + 1.5 * 4);
    expect(d.transferMs).toBeCloseTo(t.transferMs, 9);
    expect(d.downtimeMs).toBeCloseTo(t.transferMs + d.fixedMs, 9);
  });
});

const rates = (strategy: Strategy, ratio: number, encodeRate: number, decodeRate = 1e9): StrategyRates => ({
  strategy,
  devices: [{ ratio, encodeRate, decodeRate }],
});

describe('planMigration', () => {
  const device = { id: 'sim:nic', stopCopyBytes: 100 * MB, readRate: null };
  const zstd: Strategy = { ...lz4, codec: 'zstd', level: 3 };

  it('over a slow link the better ratio wins; over a fast one the faster codec', () => {
    const candidates = [rates(lz4, 0.5, 1000 * MB), rates(zstd, 0.3, 200 * MB)];
    const slow = planMigration({
      devices: [device],
      strategies: candidates,
      linkRate: 10 * MB,
      targetDowntimeMs: 300,
      fixedCosts: costs,
    });
    expect(slow.recommendation).toEqual(zstd);
    expect(slow.transfer.bottleneck).toBe('link');
    expect(slow.precopyNeeded).toBe(true);
    expect(slow.strategies.map((s) => s.name)).toEqual(['zstd:3 fixed/1m x2', 'lz4 fixed/1m x2']);
    const fast = planMigration({
      devices: [device],
      strategies: candidates,
      linkRate: null,
      targetDowntimeMs: 300,
      fixedCosts: costs,
    });
    expect(fast.recommendation).toEqual(lz4);
    expect(fast.linkRate).toBeNull();
    expect(fast.predictedDowntimeMs).toBeCloseTo(fast.transfer.transferMs + fast.fixedMs, 9);
    expect(fast.precopyNeeded).toBe(fast.predictedDowntimeMs > 300);
  });

  it('among strategies within 3% of the fastest, the one with fewer threads', () => {
    const plan = planMigration({
      devices: [device],
      strategies: [rates(lz4, 0.5, 1000 * MB), rates({ ...lz4, workers: 1 }, 0.5, 980 * MB)],
      linkRate: 10 * MB,
      targetDowntimeMs: 10_000,
      fixedCosts: costs,
    });
    expect(plan.recommendation.workers).toBe(1);
    expect(plan.precopyNeeded).toBe(false);
  });

  it('refuses to plan on nothing', () => {
    expect(() =>
      planMigration({ devices: [device], strategies: [], linkRate: null, targetDowntimeMs: 1, fixedCosts: costs }),
    ).toThrow(RangeError);
  });
});

describe('a plan as a migration sees it', () => {
  const plan: DevicesPlan = planMigration({
    devices: [{ id: 'sim:nic', stopCopyBytes: 32 * MB, readRate: 100 * MB }],
    strategies: [rates(lz4, 0.5, 500 * MB), rates({ ...lz4, codec: 'none' }, 1, 2000 * MB)],
    linkRate: 8 * MB,
    targetDowntimeMs: 300,
    fixedCosts: costs,
  });

  it('predicts with the measured rates of the strategy in use, at the sizes and link the migration has', () => {
    const same = predictWithPlan(plan, lz4, { stopCopyBytes: [32 * MB], linkRate: 8 * MB, costs })!;
    expect(same.prediction.downtimeMs).toBeCloseTo(plan.predictedDowntimeMs, 9);
    const none = predictWithPlan(
      plan,
      { ...lz4, codec: 'none' },
      { stopCopyBytes: [16 * MB], linkRate: 4 * MB, costs },
    )!;
    expect(none.transfer.stageMs.link).toBe(4000);
    expect(predictWithPlan(plan, { ...lz4, workers: 7 }, { stopCopyBytes: [MB], linkRate: null, costs })).toBeNull();
    expect(predictWithPlan(plan, lz4, { stopCopyBytes: [MB, MB], linkRate: null, costs })).toBeNull();
  });

  it('fills only the stream settings not given; a level or chunk size only with its own codec or chunking', () => {
    expect(withPlanDefaults({}, plan)).toMatchObject(plan.recommendation);
    expect(withPlanDefaults({ workers: 3 }, plan).workers).toBe(3);
    const z = { ...plan, recommendation: { ...lz4, codec: 'zstd' as const, level: 9, chunking: 'cdc' as const } };
    expect(withPlanDefaults({ codec: 'lz4' }, z)).toMatchObject({ codec: 'lz4', level: undefined, chunking: 'cdc' });
    expect(withPlanDefaults({ chunking: 'fixed' }, z)).toMatchObject({ chunking: 'fixed', chunkSize: undefined });
    expect(withPlanDefaults({ codec: 'none' }, undefined)).toEqual({ codec: 'none' });
    expect(strategyOf({ codec: 'zstd', chunking: 'cdc', workers: 1 })).toEqual({
      codec: 'zstd',
      level: 3,
      chunking: 'cdc',
      chunkSize: 256 << 10,
      workers: 1,
    });
  });
});
