// bench/device-rate.ts, the simulated device's own rates that the README quotes: it moves a whole device's data
// through a saving and a resuming session and reports both rates.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('bench/device-rate.ts', () => {
  it('reads a device to its end, loads the bytes into a second one (which accepts them), and reports both rates', () => {
    const script = fileURLToPath(new URL('../../bench/device-rate.ts', import.meta.url));
    const r = spawnSync(process.execPath, [script, 'sim:nic,size=2m,dirty=0'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { bytes: number; produceMBps: number; checkMBps: number };
    expect(out.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(out.produceMBps).toBeGreaterThan(0);
    expect(out.checkMBps).toBeGreaterThan(0);
  });
});
