// Device threads started before the CLI knows its devices (main.ts): a device opened later takes one and works as a
// thread started for it would; one never taken does not hold the process; the CLI starts as many as its words name.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { simDevicesNamed, startEarly } from '../../../src/cli/early-start.ts';
import { MigrationDevice } from '../../../src/device/migration-device.ts';
import { SimBackend } from '../../../src/device/sim/sim-backend.ts';
import { parseSimSpec } from '../../../src/device/sim/sim-spec.ts';
import { spareSimThreads, startSpareSimThreads } from '../../../src/device/sim/sim-thread.ts';
import { DeviceState } from '../../../src/fsm/index.ts';
import { stopCopyMigrate } from './transfer.ts';

const opened: MigrationDevice[] = [];
async function open(spec: string): Promise<MigrationDevice> {
  const d = await MigrationDevice.open(await SimBackend.open(parseSimSpec(spec)));
  opened.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

describe('spare simulated-device threads', () => {
  it('devices opened after spares were started take them, and migrate between each other with equal digests', async () => {
    startSpareSimThreads(2);
    expect(spareSimThreads()).toBe(2);
    const src = await open('nic,size=1m,seed=5,clock=manual');
    const dst = await open('nic,size=1m,seed=9');
    expect(spareSimThreads()).toBe(0);
    const before = await src.stateDigest();
    expect(await dst.stateDigest()).not.toBe(before);
    expect(await stopCopyMigrate(src, dst)).toBeGreaterThan(1 << 20);
    await dst.setState('STOP');
    expect(await dst.stateDigest()).toBe(before);
  });

  it('a third device, with no spare left, starts its own thread', async () => {
    startSpareSimThreads(1);
    await open('minimal');
    const d = await open('minimal,seed=3');
    expect(spareSimThreads()).toBe(0);
    expect(d.state).toBe(DeviceState.RUNNING);
    expect(await d.stateDigest()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the launcher and main both asking start the named threads once', async () => {
    const argv = ['save', '--device', 'sim:minimal', '-o', '/dev/null'];
    startEarly(argv);
    startEarly(argv);
    expect(spareSimThreads()).toBe(1);
    await open('minimal');
    expect(spareSimThreads()).toBe(0);
  });

  it('a device thread caches compiled code where the process does (Node compile cache reaches workers)', () => {
    const url = new URL('../../../src/worker-entry-url.ts', import.meta.url).href;
    const script = `
      import nodeModule from 'node:module';
      import { Worker } from 'node:worker_threads';
      const { workerEnv } = await import(${JSON.stringify(url)});
      const before = workerEnv();
      nodeModule.enableCompileCache(process.env.CACHE_DIR);
      const code = "const get = process.getBuiltinModule; get('node:worker_threads').parentPort.postMessage(get('node:module').getCompileCacheDir() ?? null)";
      const w = new Worker(code, { eval: true, env: workerEnv() });
      w.once('message', (dir) => { console.log(JSON.stringify({ before: before ?? null, dir })); });`;
    const cacheDir = mkdtempSync(join(tmpdir(), 'vfm-ncc-'));
    try {
      const { NODE_COMPILE_CACHE: _ignored, ...inherited } = process.env;
      const env = { ...inherited, CACHE_DIR: cacheDir };
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env,
        timeout: 20_000,
      });
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout) as { before: unknown; dir: string | null };
      expect(out.before).toBeNull();
      expect(out.dir?.startsWith(cacheDir)).toBe(true);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('a spare never taken does not keep the process alive', () => {
    const url = new URL('../../../src/device/sim/sim-thread.ts', import.meta.url).href;
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import(${JSON.stringify(url)}).then((m) => m.startSpareSimThreads(2));`],
      { timeout: 20_000, encoding: 'utf8' },
    );
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('simDevicesNamed: how many device threads the CLI starts early', () => {
  it.each([
    [['save', '--device', 'sim:minimal', '-o', '/dev/null'], 1],
    [['save', '--device=sim:gpu,size=1g', '--device', 'sim:nic', '-o', 'x'], 2],
    [['load', '--device', '/sys/bus/pci/devices/0000:01:00.0', '-i', 'x'], 0],
    [['migrate'], 2],
    [['migrate', '--from', 'sim:nic', '--from', 'sim:gpu'], 4],
    [['migrate', '--from', 'sim:nic', '--to', 'sim:nic,seed=2'], 2],
    [['save', '--device', 'sim:nic', '--help'], 0],
    [['save', '--', 'sim:nic'], 0],
  ])('%j starts %i', (argv, n) => {
    expect(simDevicesNamed(argv)).toBe(n);
  });
});
