// Progress on the command line: the bar a terminal gets (known and unknown total, ETA, the line cleared at the end),
// the NDJSON events --json gets (one object per line, fed by the real progress meter), and silence with --no-progress
// or when stderr is not a terminal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.ts';
import {
  chooseProgressMode,
  formatBytes,
  formatRate,
  type ProgressMode,
  progressRenderer,
  renderBar,
} from '../../src/cli/progress-render.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { type ProgressEvent, ProgressMeter } from '../../src/pipeline/index.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const CLEAR = '\r\x1b[2K';

function event(over: Partial<ProgressEvent> = {}): ProgressEvent {
  return {
    bytes: 0,
    wireBytes: 0,
    total: null,
    rate: 0,
    ratio: 0,
    eta: null,
    elapsedMs: 0,
    chunks: 0,
    section: null,
    done: false,
    ...over,
  };
}

function captureIo(errIsTTY = true): CliIo & { errText(): string; outText(): string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    errIsTTY,
    env: {},
    signal: new AbortController().signal,
    outText: () => out,
    errText: () => err,
  };
}

describe('sizes and rates', () => {
  it('uses binary units with three significant digits, rolling over instead of printing 1024', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(12.34 * MiB)).toBe('12.3 MiB');
    expect(formatBytes(850 * MiB)).toBe('850 MiB');
    expect(formatBytes(MiB - 1)).toBe('1.00 MiB');
    expect(formatBytes(2 * 1024 * GiB)).toBe('2.00 TiB');
    expect(formatRate(512 * MiB)).toBe('512 MiB/s');
    expect(formatRate(1000.4)).toBe('1000 B/s');
  });
});

describe('the bar', () => {
  it('shows fill, percent, bytes of total, rate, ratio, ETA and section when the total is known', () => {
    const line = renderBar(
      event({ bytes: 1.5 * GiB, total: 3 * GiB, rate: 512 * MiB, ratio: 0.31, eta: 3, section: 'stop-copy' }),
    );
    expect(line).toBe(
      '[############............]  50%  1.50 GiB / 3.00 GiB  512 MiB/s  ratio 0.310  eta 0:03  stop-copy',
    );
  });

  it('fills in proportion, never past full when the device sends more than it estimated', () => {
    const head = (bytes: number, total: number, width: number) =>
      renderBar(event({ bytes, total }), width).split('  0 B/s')[0];
    expect(head(0, 100, 10)).toBe('[..........]   0%  0 B / 100 B');
    expect(head(25, 100, 8)).toBe('[##......]  25%  25 B / 100 B');
    expect(head(999, 1000, 10)).toBe('[##########]  99%  999 B / 1000 B');
    expect(head(300, 200, 10)).toBe('[##########] 100%  300 B / 200 B');
  });

  it('drops the bar and the ETA when the total is unknown', () => {
    const line = renderBar(event({ bytes: 5 * MiB, rate: 2 * MiB, ratio: 0.5, section: 'pre-copy 2' }));
    expect(line).toBe('5.00 MiB  2.00 MiB/s  ratio 0.500  eta --:--  pre-copy 2');
    expect(line).not.toContain('[');
  });

  it('writes the ETA as m:ss, or hours and minutes past an hour, and --:-- when there is none', () => {
    const eta = (s: number | null) => /eta (\S+)/.exec(renderBar(event({ total: 10, eta: s })))![1];
    expect(eta(0)).toBe('0:00');
    expect(eta(59.6)).toBe('1:00');
    expect(eta(125)).toBe('2:05');
    expect(eta(3599)).toBe('59:59');
    expect(eta(7325)).toBe('2h02m');
    expect(eta(null)).toBe('--:--');
    expect(eta(Number.POSITIVE_INFINITY)).toBe('--:--');
  });

  it('redraws one line in place and clears it at the end, leaving the terminal clean for the summary', () => {
    const io = captureIo();
    const progress = progressRenderer(io, 'bar', 'save');
    progress.listener!(event({ bytes: MiB, total: 4 * MiB, rate: MiB, eta: 3 }));
    progress.listener!(event({ bytes: 2 * MiB, total: 4 * MiB, rate: MiB, eta: 2 }));
    const draws = io.errText().split(CLEAR).slice(1);
    expect(draws).toHaveLength(2);
    expect(draws[0]).toBe(`save ${renderBar(event({ bytes: MiB, total: 4 * MiB, rate: MiB, eta: 3 }))}`);
    expect(draws[1]).toMatch(/^save \[#{12}\.{12}\] {2}50% {2}2\.00 MiB \/ 4\.00 MiB .* eta 0:02$/);
    expect(io.errText()).not.toContain('\n');

    // The final event is not drawn: close() wipes the bar, once, and nothing follows it.
    const before = io.errText();
    progress.listener!(event({ bytes: 4 * MiB, total: 4 * MiB, eta: 0, done: true }));
    expect(io.errText()).toBe(before);
    progress.close();
    expect(io.errText()).toBe(before + CLEAR);
    progress.close();
    expect(io.errText()).toBe(before + CLEAR);
    expect(io.outText()).toBe('');
  });

  it('prints nothing at close when no bar was ever drawn (an operation done before the first update)', () => {
    const io = captureIo();
    const progress = progressRenderer(io, 'bar', 'load');
    progress.listener!(event({ bytes: 10, total: 10, done: true }));
    progress.close();
    expect(io.errText()).toBe('');
  });
});

describe('NDJSON progress', () => {
  it('writes one JSON object per line, from the progress meter, with bytes, rate, ratio and ETA', () => {
    const io = captureIo(false);
    const progress = progressRenderer(io, 'json', 'load');
    const meter = new ProgressMeter(progress.listener, { total: 8 * MiB, intervalMs: 0 });
    meter.section = 'stop-copy';
    meter.overhead(100);
    for (let i = 0; i < 4; i++) meter.chunk(MiB, 256 * KiB);
    const final = meter.finish();
    progress.close();

    const text = io.errText();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const events = lines.map((l) => JSON.parse(l));
    for (const e of events) {
      expect(e).toMatchObject({ event: 'progress', op: 'load', total: 8 * MiB, section: 'stop-copy' });
      for (const key of ['bytes', 'wireBytes', 'rate', 'ratio', 'elapsedMs', 'chunks']) {
        expect(typeof e[key], key).toBe('number');
      }
      expect(e.rate).toBeGreaterThanOrEqual(0);
      expect(e.eta === null || typeof e.eta === 'number').toBe(true);
    }
    const bytes = events.map((e) => e.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    const first = events[0]!;
    expect(first).toMatchObject({ bytes: MiB, wireBytes: 100 + 256 * KiB, chunks: 1, done: false });
    expect(first.ratio).toBeCloseTo((100 + 256 * KiB) / MiB, 12);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ bytes: 4 * MiB, wireBytes: 100 + MiB, chunks: 4, eta: 0, done: true });
    expect(last.ratio).toBeCloseTo(final.ratio, 12);
    expect(events.slice(0, -1).every((e) => e.done === false)).toBe(true);
    expect(text).not.toContain('\r');
    expect(io.outText()).toBe('');
  });

  it('encodes an ETA it cannot know as null, not a made-up number', () => {
    const io = captureIo(false);
    const progress = progressRenderer(io, 'json', 'save');
    progress.listener!(event({ bytes: 5, eta: null, rate: 0 }));
    expect(JSON.parse(io.errText())).toMatchObject({ bytes: 5, eta: null, total: null, rate: 0 });
  });
});

describe('choosing the mode', () => {
  const cases: Array<[tty: boolean, json: boolean, disabled: boolean, mode: ProgressMode]> = [
    [true, false, false, 'bar'],
    [false, false, false, 'none'],
    [true, true, false, 'json'],
    [false, true, false, 'json'],
    [true, false, true, 'none'],
    [true, true, true, 'none'],
    [false, true, true, 'none'],
  ];
  for (const [tty, json, disabled, mode] of cases) {
    it(`stderr ${tty ? 'a terminal' : 'not a terminal'}${json ? ', --json' : ''}${disabled ? ', --no-progress' : ''}: ${mode}`, () => {
      expect(chooseProgressMode(captureIo(tty), json, disabled)).toBe(mode);
    });
  }

  it('has no listener and writes nothing in mode none', () => {
    const io = captureIo();
    const progress = progressRenderer(io, 'none', 'save');
    expect(progress.listener).toBeUndefined();
    progress.close();
    expect(io.errText()).toBe('');
  });
});

describe('save on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vfm-progress-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams NDJSON progress on stderr with --json, ending with the done event', async () => {
    const io = captureIo(true);
    const code = await runCli(['save', '--device', 'sim:minimal', '-o', join(dir, 'a.vfm'), '--json'], io);
    expect(code).toBe(0);
    const events = io
      .errText()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(1);
    for (const e of events) expect(e).toMatchObject({ event: 'progress', op: 'save' });
    const result = JSON.parse(io.outText().trim().split('\n').at(-1)!);
    expect(events.at(-1)).toMatchObject({ done: true, bytes: result.bytes, eta: 0 });
    expect(result.bytes).toBeGreaterThan(256 * KiB);
  });

  it('prints no progress at all with --no-progress, even on a terminal', async () => {
    for (const extra of [['--json'], []]) {
      const io = captureIo(true);
      const code = await runCli(
        ['save', '--device', 'sim:minimal', '-o', join(dir, `b${extra.length}.vfm`), '--no-progress', ...extra],
        io,
      );
      expect(code).toBe(0);
      expect(io.errText()).toBe('');
      expect(io.outText()).not.toBe('');
    }
  });
});
