// bench/device-rate.ts, the simulated device's own rates that the README quotes: it moves a whole device's data
// through a saving and a resuming session and reports both rates, and the floor under them: the same bytes through a
// socket between two threads each way (the floor itself fails the run when it moves any other count of bytes).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('bench/device-rate.ts', () => {
  it('reads a device to its end, loads the bytes into a second one (which accepts them), and reports both rates and their floor', () => {
    const script = fileURLToPath(new URL('../../bench/device-rate.ts', import.meta.url));
    const r = spawnSync(process.execPath, [script, 'sim:nic,size=2m,dirty=0'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as Record<string, number>;
    expect(out.bytes).toBeGreaterThan(2 * 1024 * 1024);
    for (const rate of [
      'produceMBps',
      'checkMBps',
      'floorToHostMBps',
      'floorToThreadMBps',
      'floorToThreadDefaultBufferMBps',
    ]) {
      expect(out[rate], rate).toBeGreaterThan(0);
    }
    // each share of the floor is the floor's time over the device's, from the same run
    expect(out.produceOfFloor).toBeCloseTo(out.produceMBps! / out.floorToHostMBps!, 1);
    expect(out.checkOfFloor).toBeCloseTo(out.checkMBps! / out.floorToThreadMBps!, 1);
  });
});
