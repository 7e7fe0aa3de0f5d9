// The pure parts of the strategy benchmark: deterministic corpora, the ratio arithmetic, and the Markdown and SVG
// rendering of a fixture result (no process is started here; bench/run.ts runs the real thing).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEVICE_CORPORA, deviceCorpusBlocks, fillDeviceCorpus, PAGE } from '../../bench/core/corpus.ts';
import { niceCeil, ratioChart, throughputChart, workersChart } from '../../bench/strategies/charts-svg.ts';
import { planStrategies, selectStrategies } from '../../bench/strategies/plan.ts';
import { dataSeconds, median, ratioToTwin, throughputMBps, wireRatio } from '../../bench/strategies/ratios.ts';
import { markdownReport, markdownTable } from '../../bench/strategies/report-markdown.ts';
import { wireFromOutput } from '../../bench/strategies/suite.ts';
import { twinCodecEnds, twinName } from '../../bench/strategies/twins.ts';
import type { SideResult, StrategyResult, SuiteResult } from '../../bench/strategies/types.ts';

const MiB = 2 ** 20;

function side(name: string, seconds: number, startup: number, wireBytes: number | null = null): SideResult {
  return { name, seconds: [seconds], startupSeconds: [startup], rssKiB: [51200, 40960], wireBytes };
}

function result(over: Partial<StrategyResult> & Pick<StrategyResult, 'group' | 'label'>): StrategyResult {
  return {
    id: `${over.group}/${over.label}/mixed`,
    data: 'mixed',
    bytes: 100e6,
    ours: side('pipeline lz4', 1.2, 0.2, 40e6),
    twin: side('lz4 -1 | lz4 -d', 0.55, 0.05, 38e6),
    ...over,
  };
}

const fixture: SuiteResult = {
  date: '2026-12-02T07:00:00.000Z',
  durationSeconds: 95,
  quick: true,
  size: 32 * MiB,
  simSize: 8 * MiB,
  reps: 1,
  machine: {
    cpu: 'Test CPU',
    cores: 2,
    memMiB: 4096,
    kernel: '6.1.0',
    node: 'v26.10.0',
    deno: 'deno 2.9.6',
    tools: { lz4: 'lz4 v1.9.4', zstd: 'zstd v1.5.4' },
    loadBefore: 3,
    loadAfter: 2,
  },
  results: [
    result({ group: 'codec', label: 'lz4' }),
    result({
      group: 'codec',
      label: 'none',
      ours: side('pipeline none', 0.3, 0.2, 100e6),
      twin: side('cat | cat', 0.25, 0.05, 100e6),
    }),
    result({ group: 'workers', label: 'lz4 w=1', workers: 1, ours: side('pipeline lz4 workers 1', 1.2, 0.2) }),
    result({ group: 'workers', label: 'lz4 w=2', workers: 2, ours: side('pipeline lz4 workers 2', 0.7, 0.2) }),
    result({ group: 'transport', label: 'tls', error: 'vfio-migrate failed: boom' }),
  ],
};

describe('device corpora', () => {
  it('give the same bytes whatever the block size, and a fixed digest', () => {
    for (const name of DEVICE_CORPORA) {
      const whole = new Uint8Array(3 * MiB);
      fillDeviceCorpus(name, 0, whole);
      // each block is copied before the next refills the generator's buffer
      const pieces = Buffer.concat(Array.from(deviceCorpusBlocks(name, 3 * MiB, 5 * PAGE), (b) => Buffer.from(b)));
      expect(pieces.equals(Buffer.from(whole))).toBe(true);
    }
    // the same corpus on every machine and every run: results of different runs compare
    const digests = DEVICE_CORPORA.map((name) => {
      const bytes = new Uint8Array(2 * MiB);
      fillDeviceCorpus(name, 0, bytes);
      return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    });
    expect(digests).toEqual(['105aebe6e162fc2e', '42f18896c930e600', '2e9a0da5ef49377f', '718ae647499ebe37']);
  });

  it('look like their devices: zero-heavy GPU, no zero pages in random, corpora differ', () => {
    const zeroPages = (name: (typeof DEVICE_CORPORA)[number]) => {
      let zeros = 0;
      let pages = 0;
      for (const block of deviceCorpusBlocks(name, 32 * MiB)) {
        for (let at = 0; at < block.length; at += PAGE, pages++)
          if (block.subarray(at, at + PAGE).every((b) => b === 0)) zeros++;
      }
      return zeros / pages;
    };
    expect(zeroPages('gpu-like')).toBeGreaterThan(0.4);
    expect(zeroPages('random')).toBe(0);
    const a = new Uint8Array(MiB);
    const b = new Uint8Array(MiB);
    fillDeviceCorpus('nic-like', 0, a);
    fillDeviceCorpus('random', 0, b);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('are made of whole pages', () => {
    expect(() => fillDeviceCorpus('random', 100, new Uint8Array(PAGE))).toThrow(RangeError);
  });
});

describe('ratios', () => {
  it('subtract start-up and divide ours by the twin', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const r = fixture.results[0]!;
    expect(dataSeconds(r.ours)).toBeCloseTo(1.0);
    expect(throughputMBps(r.ours, r.bytes)).toBeCloseTo(100);
    expect(throughputMBps(r.twin, r.bytes)).toBeCloseTo(200);
    expect(ratioToTwin(r)).toBeCloseTo(0.5);
    expect(wireRatio(r.ours, r.bytes)).toBeCloseTo(0.4);
    expect(wireRatio(side('x', 1, 0), 10)).toBeNull();
  });

  it('floor the data time at a tenth of the wall time', () => {
    expect(dataSeconds(side('noisy', 1, 5))).toBeCloseTo(0.1);
  });
});

describe('Markdown report', () => {
  it('has one row per strategy with throughputs, ratio, wire and RSS', () => {
    const table = markdownTable(fixture.results).split('\n');
    expect(table).toHaveLength(2 + fixture.results.length);
    expect(table[0]).toMatch(/\| +ratio \|/);
    const cells = table[2]!.split(/ (?<!\\)\| /).map((c) => c.replace(/^\| /, '').replace(/ \|$/, '').trim());
    expect(cells).toEqual([
      'codec',
      'lz4',
      'mixed',
      '95.4',
      '100',
      'lz4 -1 \\| lz4 -d',
      '200',
      '0.50',
      '0.400 / 0.380',
      '50 / 40',
      '50 / 40',
    ]);
    // padded: every line as long as the header
    expect(new Set(table.map((l) => l.length)).size).toBe(1);
    expect(table[6]).toContain('| failed |');
  });

  it('says where and how it was measured, and lists failures', () => {
    const md = markdownReport(fixture);
    expect(md).toContain('quick run, 95 s');
    expect(md).toContain('Test CPU, 2 CPUs');
    expect(md).toContain('not quiet');
    expect(md).toContain('- transport/tls/mixed: vfio-migrate failed: boom');
  });
});

describe('SVG charts', () => {
  it('draw both sides of each strategy, with the ratio, escaped', () => {
    const svg = throughputChart(fixture.results, 'A & B');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('A &amp; B');
    expect(svg).toContain('×0.50');
    expect(svg).not.toContain('tls ·'); // failed strategies are left to the table
    // log axis: the twin at twice the throughput gets a longer bar
    const widths = [...svg.matchAll(/<rect x="230" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths[1]!).toBeGreaterThan(widths[0]!);
  });

  it('draw the ratio around 1 and throughput against workers', () => {
    expect(ratioChart(fixture.results, 'r')).toContain('>0.50</text>');
    const w = workersChart(fixture.results, 'w');
    expect(w.match(/<path /g)).toHaveLength(2);
    expect(w).toContain('vfio-migrate lz4');
    expect(niceCeil(730)).toBe(1000);
    expect(niceCeil(120)).toBe(200);
  });
});

describe('plan', () => {
  const tools = { node: '/n', deno: '/d', root: '/r' };
  it('varies one dimension per strategy and selects by group or id part', () => {
    const all = planStrategies(tools, false, 64 * MiB, 16 * MiB);
    expect(new Set(all.map((s) => s.id)).size).toBe(all.length);
    expect(selectStrategies(all, ['workers']).every((s) => s.group === 'workers')).toBe(true);
    expect(selectStrategies(all, ['tls']).map((s) => s.id)).toEqual(['transport/tls/sim:nic']);
    expect(planStrategies(tools, true, 64 * MiB, 16 * MiB).length).toBeLessThan(all.length);
    expect(twinName({ codec: 'zstd', level: 9, threads: 2 })).toBe('zstd -9 -T2 | zstd -d');
    expect(twinCodecEnds({ codec: 'lz4' }, '/tmp/a b')).toEqual({
      encode: "lz4 -1 -q -c '/tmp/a b'",
      decode: 'lz4 -d -q -c > /dev/null',
    });
  });

  it("reads our wire bytes from the ends' JSON", () => {
    expect(wireFromOutput('{"bytes":10,"wireBytes":4,"workers":2}\n{"rawBytes":10}')).toBe(4);
    expect(wireFromOutput('no json')).toBeNull();
  });
});
