// Several GiB from a simulated GPU through save -> in-memory pipe -> load -> a throttled sink, in one process,
// while RSS is sampled: memory must stay within the budgets plus a fixed overhead and must not grow with the bytes
// moved. VFM_BOUNDED_BYTES overrides the size (default 4g).
import { describe, expect, it } from 'vitest';
import { openDevice } from '../../src/device/open-device.ts';
import { createBytePipe, loadStream, saveDevice, sinkFromCallback } from '../../src/pipeline/index.ts';

const SIZE = process.env.VFM_BOUNDED_BYTES ?? '4g';
/** The destination accepts at most this many raw bytes per second (a slow device or link). */
const SINK_RATE = 256 << 20;
const MiB = 1 << 20;

describe('bounded memory', () => {
  it(`moves ${SIZE} through a throttled sink with RSS flat`, async () => {
    const device = await openDevice(`sim:gpu,size=${SIZE}`, { role: 'source' });
    const pipe = createBytePipe(4 * MiB);
    const samples: Array<[number, number]> = []; // (raw bytes delivered, rss)
    let delivered = 0;
    const started = performance.now();
    const sink = sinkFromCallback(async (chunk) => {
      delivered += chunk.length;
      const due = started + (delivered / SINK_RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    });
    const sampler = setInterval(() => samples.push([delivered, process.memoryUsage().rss]), 100);
    const budget = 8 * (MiB + 4096);
    try {
      const [saved, loaded] = await Promise.all([
        saveDevice(device, pipe.sink, { budget, workers: 2 }),
        loadStream(pipe.source, sink, { budget: 2 * budget, workers: 2 }),
      ]);
      expect(loaded.bytes).toBe(saved.bytes);
      expect(saved.bytes).toBeGreaterThan(3 * 1024 * MiB);
      expect(saved.peakInFlight).toBeLessThanOrEqual(budget);
      expect(loaded.peakInFlight).toBeLessThanOrEqual(2 * budget);
    } finally {
      clearInterval(sampler);
      await device.close();
    }
    const total = delivered;
    const settled = samples.filter(([b]) => b > total * 0.1);
    const early = settled.filter(([b]) => b < total * 0.3).map(([, r]) => r);
    const late = settled.filter(([b]) => b > total * 0.7).map(([, r]) => r);
    const peak = Math.max(...settled.map(([, r]) => r));
    const base = Math.min(...settled.map(([, r]) => r));
    // flat: no growth from the first third to the last (medians: V8 may grow its young generation once, late, under
    // a busy machine's allocation pattern, a one-off step that is no leak), and the spread stays within the budgets
    // plus what six isolates' garbage swings by between collections: the main thread's young generation alone grows
    // to tens of MiB at this allocation rate (two semi-spaces of up to 16 MiB each by V8's sizing), the five threads'
    // 4 MiB each, plus malloc's slack. Measured spreads:
    // 41 to 79 MiB alone on the 2-vCPU machine (before and after the buffers began to circulate), 99 MiB once inside a
    // loaded full run; the early/late medians, not this bound, are what catch a leak.
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    expect(median(late), `early ${median(early)}, late ${median(late)}`).toBeLessThan(median(early) + 48 * MiB);
    console.log(
      `base ${(base / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, spread ${((peak - base) / MiB).toFixed(1)} MiB; early ${(median(early) / MiB).toFixed(1)}, late ${(median(late) / MiB).toFixed(1)}`,
    );
    expect(peak - base, `base ${base}, peak ${peak}`).toBeLessThan(3 * budget + 112 * MiB);
    // and it is a small fraction of what was moved
    expect(peak).toBeLessThan(512 * MiB);
  }, 180_000);
});
