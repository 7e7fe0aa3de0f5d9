import { describe, expect, it } from 'vitest';
import { ProgressGuard } from '../../src/pipeline/progress-guard.ts';

class Stalled extends Error {
  readonly limit: string;
  readonly bytes: number;
  constructor(limit: string, bytes: number) {
    super(`stalled (${limit}) after ${bytes} bytes`);
    this.limit = limit;
    this.bytes = bytes;
  }
}
const stalled = (limit: 'idle' | 'min-rate', bytes: number) => new Stalled(limit, bytes);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = () => new Promise<number>(() => {});
const afterMs = (ms: number, n: number) => () => sleep(ms).then(() => n);
const timersHeld = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('ProgressGuard', () => {
  it('fails an operation that moves nothing for the idle limit, with the bytes moved before it', async () => {
    const guard = new ProgressGuard({ idleMs: 40 }, stalled);
    expect(await guard.run(afterMs(1, 100), (n) => n)).toBe(100);
    const started = performance.now();
    const err = await guard.run(never, (n) => n).catch((e) => e);
    expect(err).toBeInstanceOf(Stalled);
    expect(err).toMatchObject({ limit: 'idle', bytes: 100 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
  });

  it('operations that each finish within the limit never trip it, however long they take together', async () => {
    const guard = new ProgressGuard({ idleMs: 30 }, stalled);
    for (let i = 0; i < 8; i++) await guard.run(afterMs(12, 1), (n) => n);
    expect(guard.bytes).toBe(8);
  });

  it('holds the process open only while an operation is pending', async () => {
    const before = timersHeld();
    const guard = new ProgressGuard({ idleMs: 10_000 }, stalled);
    let release!: (n: number) => void;
    const pending = guard.run(
      () => new Promise<number>((r) => (release = r)),
      (n) => n,
    );
    expect(timersHeld()).toBe(before + 1);
    release(5);
    expect(await pending).toBe(5);
    expect(timersHeld()).toBe(before);
  });

  it('a stall fails every operation pending on the guard; a late result changes nothing', async () => {
    const guard = new ProgressGuard({ idleMs: 30 }, stalled);
    let late!: (n: number) => void;
    const a = guard
      .run(
        () => new Promise<number>((r) => (late = r)),
        (n) => n,
      )
      .catch((e) => e);
    const b = guard.run(never, (n) => n).catch((e) => e);
    expect(await a).toMatchObject({ limit: 'idle' });
    expect(await b).toMatchObject({ limit: 'idle' });
    late(7);
    await sleep(1);
    expect(guard.bytes).toBe(0);
    // and the guard still works afterwards
    expect(await guard.run(afterMs(1, 3), (n) => n)).toBe(3);
  });

  it('an operation that fails fails through the guard, and the guard goes on', async () => {
    const guard = new ProgressGuard({ idleMs: 30 }, stalled);
    const boom = new Error('boom');
    await expect(
      guard.run(
        () => Promise.reject(boom),
        () => 0,
      ),
    ).rejects.toBe(boom);
    await expect(
      guard.run(
        () => {
          throw boom;
        },
        () => 0,
      ),
    ).rejects.toBe(boom);
    expect(await guard.run(afterMs(1, 2), (n) => n)).toBe(2);
  });

  it('trips the minimum rate over a window of waiting, not over the time spent between operations', async () => {
    const slow = new ProgressGuard({ minRate: 1_000_000, rateWindowMs: 40 }, stalled);
    let err: unknown;
    for (let i = 0; i < 20 && err === undefined; i++) {
      await slow.run(afterMs(10, 10), (n) => n).catch((e) => (err = e));
    }
    expect(err).toMatchObject({ limit: 'min-rate' });
    // fast operations with long pauses of our own between them: no stall
    const paused = new ProgressGuard({ minRate: 1_000, rateWindowMs: 40 }, stalled);
    for (let i = 0; i < 6; i++) {
      await paused.run(afterMs(5, 100), (n) => n);
      await sleep(20);
    }
    expect(paused.bytes).toBe(600);
  });
});
