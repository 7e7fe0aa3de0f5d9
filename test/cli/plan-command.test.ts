// `vfio-migrate plan` as a person or a script meets it: the recommendation first in the human report, the JSON
// object with the recommendation, predictedDowntimeMs and every measurement, usage errors, and --plan on migrate.
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/cli-io.ts';

const FAST = ['--sample', '1m', '--sample-time', '0.5s', '--measure-time', '0.3s'];

describe('vfio-migrate plan', () => {
  it('--json: the recommendation, the predicted downtime, the devices as sampled and every measurement', async () => {
    const r = await runCliCaptured([
      'plan',
      '--device',
      'sim:nic,size=4m,dirty=0',
      '--link',
      '80mbit',
      '--json',
      ...FAST,
    ]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ ok: true, command: 'plan', link: 1e7, targetDowntimeMs: 300 });
    expect(Object.keys(j.recommendation).sort()).toEqual(['chunkSize', 'chunking', 'codec', 'level', 'workers']);
    expect(['none', 'lz4', 'zstd']).toContain(j.recommendation.codec);
    expect(j.predictedDowntimeMs).toBeGreaterThan(0);
    expect(j.precopyNeeded).toBe(j.predictedDowntimeMs > 300);
    expect(j.devices).toHaveLength(1);
    expect(j.devices[0]).toMatchObject({ id: 'sim:nic,size=4m,dirty=0/s', via: 'pre-copy', stoppedMs: 0 });
    expect(j.devices[0].sampleBytes).toBeLessThanOrEqual(1 << 20);
    expect(j.devices[0].windows).toBeGreaterThan(1);
    expect(j.strategies.length).toBeGreaterThan(0);
    expect(j.strategies[0].name).toBe(j.strategy);
    for (const s of j.strategies) {
      expect(s.transferMs).toBeGreaterThan(0);
      expect(['device', 'encode', 'link', 'decode']).toContain(s.bottleneck);
    }
    expect(j.measurements.length).toBeGreaterThan(0);
    expect(j.measurements[0]).toMatchObject({ device: 0, bytes: expect.any(Number), ratio: expect.any(Number) });
  }, 30_000);

  it('human: the recommendation first, the prediction, then a short table', async () => {
    const r = await runCliCaptured(['plan', '--device', 'sim:minimal', '--link', '1gbit', '--downtime', '5s', ...FAST]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^recommended: (none|lz4|zstd:\d+) (fixed|cdc)\/\d+[km] x\d+ {2}\(--codec /);
    expect(lines[1]).toMatch(/^predicted stop-and-copy downtime [\d.]+ ms ± [\d.]+ ms against a target of 5000 ms: /);
    expect(lines[1]).toContain('pre-copy not needed');
    // a device without PRE_COPY is sampled from STOP_COPY, and says how long it was stopped
    expect(r.out).toMatch(/sim:minimal: sampled .* via stop-copy \(stopped [\d.]+ ms\)/);
    expect(r.out).toMatch(/\nstrategy +ratio +encode +decode +transfer +downtime +bound by\n/);
  }, 30_000);

  it('a bad --link is a usage error naming the convention', async () => {
    const r = await runCliCaptured(['plan', '--link', 'fast']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--link must be like 10gbit/);
  });

  it('is listed by help, with its usage', async () => {
    expect((await runCliCaptured(['help'])).out).toMatch(/\n {2}plan +measure stream strategies/);
    expect((await runCliCaptured(['plan', '--help'])).out).toMatch(/^usage: vfio-migrate plan /);
  });
});

describe('migrate --plan', () => {
  it('plans first, says so, and the migration uses the recommendation and its prediction', async () => {
    const r = await runCliCaptured([
      'migrate',
      '--from',
      'sim:nic,size=4m,dirty=0',
      '--no-precopy',
      '--max-bandwidth',
      '40MB',
      '--plan',
      '--json',
      ...FAST,
    ]);
    expect(r.code, r.err).toBe(0);
    const plan = r.err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((e) => e.event === 'plan');
    expect(plan.link).toBe(4e7);
    const result = JSON.parse(r.out);
    expect(result.ok).toBe(true);
    expect(result.predictedDowntimeMs).toBeGreaterThan(0);
    expect(plan.using.codec).toBe(plan.recommendation.codec);
  }, 30_000);

  it('human: one line with the strategy and the predicted stop-and-copy downtime; given options win', async () => {
    const r = await runCliCaptured([
      'migrate',
      '--from',
      'sim:minimal',
      '--no-precopy',
      '--plan',
      '--codec',
      'none',
      '--no-progress',
      ...FAST,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^plan: \S+ \S+ x\d+, predicted stop-and-copy downtime \d+ ms/m);
    if (!/^plan: none /m.test(r.err)) expect(r.err).toMatch(/; using none \S+ x\d+ \(as given on the command line\)/);
  }, 30_000);
});
