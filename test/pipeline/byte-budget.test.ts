import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedError, PipelineConfigError } from '../../src/errors.ts';
import { ByteBudget } from '../../src/pipeline/byte-budget.ts';

describe('byte budget', () => {
  it('never holds more than its capacity, and every acquire is eventually granted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }),
        async (capacity, sizes) => {
          const budget = new ByteBudget(capacity);
          const wanted = sizes.map((s) => Math.min(s, capacity));
          let over = false;
          await Promise.all(
            wanted.map(async (n, i) => {
              await budget.acquire(n);
              if (budget.used > capacity) over = true;
              await new Promise((r) => setTimeout(r, i % 3));
              budget.release(n);
            }),
          );
          expect(over).toBe(false);
          expect(budget.used).toBe(0);
          expect(budget.peak).toBeLessThanOrEqual(capacity);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('grants waiters first come, first served (a big request is not starved by small ones)', async () => {
    const budget = new ByteBudget(10);
    await budget.acquire(8);
    const order: string[] = [];
    const big = budget.acquire(10).then(() => order.push('big'));
    const small = budget.acquire(1).then(() => order.push('small'));
    budget.release(8);
    await big;
    expect(order).toEqual(['big']);
    budget.release(10);
    await small;
    expect(order).toEqual(['big', 'small']);
  });

  it('refuses a reservation larger than the whole budget', async () => {
    await expect(new ByteBudget(10).acquire(11)).rejects.toBeInstanceOf(PipelineConfigError);
    expect(() => new ByteBudget(0)).toThrow(PipelineConfigError);
  });

  it('rejects a waiter when its signal aborts, and everyone when the pipeline fails', async () => {
    const budget = new ByteBudget(4);
    await budget.acquire(4);
    const controller = new AbortController();
    const aborted = budget.acquire(1, controller.signal);
    const failed = budget.acquire(1);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    budget.fail(new Error('sink broke'));
    await expect(failed).rejects.toThrow('sink broke');
    await expect(budget.acquire(1)).rejects.toThrow('sink broke');
  });
});
