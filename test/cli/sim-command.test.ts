import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/cli-io.ts';

describe('vfio-migrate sim', () => {
  it('lists the profiles and the spec keys', async () => {
    const r = await runCliCaptured(['sim', 'list']);
    expect(r.code).toBe(0);
    for (const name of ['nic', 'gpu', 'minimal', 'accel', 'fail-arc', 'die-at']) expect(r.out).toContain(name);
    const j = JSON.parse((await runCliCaptured(['sim', 'list', '--json'])).out);
    expect(j.profiles.map((p: { name: string }) => p.name)).toEqual(['nic', 'gpu', 'minimal', 'accel']);
    expect(j.profiles[1]).toMatchObject({ defaultSize: 4 * 1024 ** 3, flags: ['stop-copy', 'pre-copy'] });
  });

  it('shows what a spec resolves to, and names a bad key', async () => {
    const j = JSON.parse((await runCliCaptured(['sim', 'show', 'sim:gpu,size=2g,seed=7', '--json'])).out);
    expect(j).toMatchObject({ spec: 'sim:gpu,size=2g,seed=7', size: 2 * 1024 ** 3, seed: 7 });
    const bad = await runCliCaptured(['sim', 'show', 'gpu,sise=2g', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.out).error).toMatchObject({ code: 'VFM_DEVICE_SPEC', key: 'sise' });
  });

  it('round trip reports both digests, equal', async () => {
    const r = await runCliCaptured(['sim', 'roundtrip', 'nic,size=1m,dirty=0', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(true);
    expect(j.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(j.digest).toBe(j.sourceDigest);
  });

  it('round trip into a device of another profile fails with the device refusal', async () => {
    const r = await runCliCaptured(['sim', 'roundtrip', 'accel', '--to', 'minimal,size=16k', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error).toMatchObject({ code: 'VFM_ARC_FAILED', state: 'ERROR' });
  });
});
