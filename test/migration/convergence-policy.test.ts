// The convergence policy on its own: the downtime model, the throughput it learns from rounds, and when it switches
// over, keeps going or gives up.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConvergencePolicy,
  plainArcMs,
  predictDowntime,
  ThroughputMeter,
} from '../../src/migration/convergence-policy.ts';

const costs = { sourceArcMs: 2, sourceStopPhases: 2, destinationArcMs: 3, destinationPhases: 3, rttMs: 4 };

describe('the downtime model', () => {
  it('is the bytes left over the throughput, plus the stop and start arcs and one and a half round trips', () => {
    const p = predictDowntime(10 << 20, { rate: 100 << 20, latencyMs: 5 }, costs);
    expect(p.transferMs).toBeCloseTo(5 + 100, 6);
    expect(p.fixedMs).toBeCloseTo(2 * 2 + 3 * 3 + 1.5 * 4, 6);
    expect(p.downtimeMs).toBeCloseTo(p.transferMs + p.fixedMs, 6);
    // the error allows 15% of the transfer, the arcs once more, a round trip and 25 ms
    expect(p.errorMs).toBeCloseTo(0.15 * 105 + 13 + 4 + 25, 6);
  });

  it('grows with the bytes left and shrinks with the throughput (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e10 }),
        fc.integer({ min: 1, max: 1e10 }),
        fc.integer({ min: 1e3, max: 1e10 }),
        (bytes, extra, rate) => {
          const a = predictDowntime(bytes, { rate }, costs).downtimeMs;
          expect(predictDowntime(bytes + extra, { rate }, costs).downtimeMs).toBeGreaterThan(a);
          expect(predictDowntime(bytes, { rate: rate * 2 }, costs).downtimeMs).toBeLessThanOrEqual(a);
        },
      ),
    );
  });

  it('says it cannot predict (infinite) before anything moved', () => {
    expect(predictDowntime(1, { rate: 0 }, costs).downtimeMs).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('the throughput learned from rounds', () => {
  it("takes the rate and a round's fixed latency from the rounds large enough to show them", () => {
    const m = new ThroughputMeter();
    m.add(100 << 20, 1000 + 10); // 100 MiB at 100 MiB/s, plus 10 ms
    m.add(50 << 20, 500 + 12);
    m.add(4096, 30); // a small round, mostly waiting on the running device
    const { rate, latencyMs } = m.fit();
    expect(Math.abs(rate / (100 << 20) - 1)).toBeLessThan(0.02);
    expect(latencyMs).toBeGreaterThan(5);
    expect(latencyMs).toBeLessThan(15);
    expect(m.spread).toBeLessThan(0.05);
  });

  it('is zero until something moved', () => {
    expect(new ThroughputMeter().fit()).toEqual({ rate: 0, latencyMs: 0 });
  });

  it('with only tiny rounds (an mtty-sized device), a few bytes left cost about one round, not bytes over a tiny rate', () => {
    const m = new ThroughputMeter();
    m.add(24, 1061); // the first round: 24 bytes, mostly the pipeline starting
    for (const ms of [65, 59, 56, 39, 35]) m.add(0, ms);
    const fit = m.fit();
    expect(fit.latencyMs).toBe(59); // the median (upper, of six)
    const p = predictDowntime(96, fit, costs);
    expect(p.transferMs).toBeGreaterThan(59);
    expect(p.transferMs).toBeLessThan(63);
  });
});

describe('the policy', () => {
  const fast = predictDowntime(1 << 20, { rate: 1 << 30 }, costs);
  const slow = predictDowntime(1 << 30, { rate: 1 << 20 }, costs);

  it('switches over once the prediction meets the target', () => {
    const d = new ConvergencePolicy({ downtimeMs: 300 }).evaluate(1, 100, fast);
    expect(d).toMatchObject({ action: 'switchover', reason: 'downtime-target', converged: true });
  });

  it('goes on while over the target and within the limits', () => {
    expect(new ConvergencePolicy().evaluate(3, 1000, slow)).toMatchObject({ action: 'continue', converged: false });
  });

  it('past the round or time limit switches over anyway, or aborts, as asked', () => {
    expect(new ConvergencePolicy({ maxRounds: 3 }).evaluate(3, 1, slow)).toMatchObject({
      action: 'switchover',
      reason: 'max-rounds',
      converged: false,
    });
    expect(new ConvergencePolicy({ maxTimeMs: 500, onNoConverge: 'abort' }).evaluate(1, 600, slow)).toMatchObject({
      action: 'abort',
      reason: 'max-time',
    });
  });

  it('keeps its defaults for settings given as undefined (options not passed)', () => {
    const p = new ConvergencePolicy({ downtimeMs: undefined, maxRounds: undefined });
    expect(p.settings).toMatchObject({ downtimeMs: 300, maxRounds: 30 });
    expect(p.evaluate(30, 1, slow).action).toBe('switchover');
  });
});

describe('the typical arc', () => {
  it('is the median of the arcs that open no data session', () => {
    const opens = (from: number, to: number) => from === 1 && to === 4;
    const arcs = [
      { from: 2, to: 5, ms: 2 },
      { from: 5, to: 1, ms: 3 },
      { from: 1, to: 4, ms: 40 }, // STOP -> RESUMING connects a session: slow, and not like a switchover's arcs
      { from: 1, to: 5, ms: 4 },
    ];
    expect(plainArcMs(arcs, opens)).toBe(3);
    expect(plainArcMs([{ from: 1, to: 4, ms: 40 }], opens)).toBeUndefined();
  });
});
