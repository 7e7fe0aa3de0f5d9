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
  fitProgressLine,
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

function captureIo(
  errIsTTY = true,
  more: Partial<Pick<CliIo, 'env' | 'verbosity'>> = {},
): CliIo & { errText(): string; outText(): string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    errIsTTY,
    env: {},
    ...more,
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

describe('fitting the terminal', () => {
  const e = event({
    bytes: 1.5 * GiB,
    total: 3 * GiB,
    rate: 512 * MiB,
    ratio: 0.31,
    eta: 3,
    section: 'stop-copy',
  });
  const fields = (line: string) =>
    ['save', '[', '%', '/ 3.00 GiB', 'MiB/s', 'ratio', 'eta', 'stop-copy'].filter((f) => line.includes(f));

  it('keeps the whole line where it fits, and never reaches the last column at any width', () => {
    expect(fitProgressLine('save', e, 200)).toBe(`save ${renderBar(e)}`);
    expect(fitProgressLine('save', e, undefined)).toBe(`save ${renderBar(e)}`);
    for (let columns = 2; columns <= 200; columns++) {
      expect(fitProgressLine('save', e, columns).length, `${columns} columns`).toBeLessThan(columns);
    }
  });

  it('narrows the bar first, then drops section, ratio, label, bar, rate, total and eta, in that order', () => {
    const full = `save ${renderBar(e)}`.length;
    expect(fitProgressLine('save', e, full)).toMatch(/^save \[#{12}\.{11}\] {2}50% .* stop-copy$/);
    expect(fitProgressLine('save', e, 87)).toBe(
      'save [##########.........]  50%  1.50 GiB / 3.00 GiB  512 MiB/s  ratio 0.310  eta 0:03',
    );
    expect(fitProgressLine('save', e, 80)).toBe(
      'save [######......]  50%  1.50 GiB / 3.00 GiB  512 MiB/s  ratio 0.310  eta 0:03',
    );
    expect(fitProgressLine('save', e, 70)).toBe(
      'save [########.......]  50%  1.50 GiB / 3.00 GiB  512 MiB/s  eta 0:03',
    );
    expect(fitProgressLine('save', e, 60)).toBe('[#####.....]  50%  1.50 GiB / 3.00 GiB  512 MiB/s  eta 0:03');
    expect(fitProgressLine('save', e, 50)).toBe('50%  1.50 GiB / 3.00 GiB  512 MiB/s  eta 0:03');
    expect(fitProgressLine('save', e, 40)).toBe('50%  1.50 GiB / 3.00 GiB  eta 0:03');
    expect(fitProgressLine('save', e, 30)).toBe('50%  1.50 GiB  eta 0:03');
    expect(fitProgressLine('save', e, 20)).toBe('50%  1.50 GiB');
    expect(fitProgressLine('save', e, 12)).toBe('50%  1.50 G');
    // narrower never shows a field a wider terminal hid
    for (let columns = 20; columns < full; columns++) {
      const wider = fields(fitProgressLine('save', e, columns + 1));
      for (const f of fields(fitProgressLine('save', e, columns))) expect(wider, `${columns} columns`).toContain(f);
    }
  });

  it('redraws at once at the new width on a resize, clearing every row the old line wrapped onto', () => {
    let columns = 120;
    let resized: (() => void) | undefined;
    const io = {
      ...captureIo(),
      errColumns: () => columns,
      onErrResize: (listener: () => void) => {
        resized = listener;
        return () => {
          resized = undefined;
        };
      },
    };
    const progress = progressRenderer(io, 'bar', 'save');
    progress.listener!(e);
    const wide = io.errText();
    expect(wide).toBe(`${CLEAR}save ${renderBar(e)}`);
    columns = 40;
    resized!();
    const redraw = io.errText().slice(wide.length);
    // the 101-character line now wraps onto 3 rows of 40: up 2, erase to the end of the screen, draw
    expect(redraw).toBe(`\r\x1b[2A\x1b[J${fitProgressLine('save', e, 40)}`);
    expect(fitProgressLine('save', e, 40).length).toBeLessThan(40);
    progress.close();
    expect(resized).toBeUndefined();
    expect(io.errText().endsWith(CLEAR)).toBe(true);
  });

  it('writes whole lines now and then on a dumb terminal, fitted to its width, with no cursor control', () => {
    const io = { ...captureIo(), errColumns: () => 50 };
    const progress = progressRenderer(io, 'plain', 'load');
    for (const elapsedMs of [250, 500, 4000, 5300, 9000, 10_400]) progress.listener!(event({ ...e, elapsedMs }));
    progress.listener!(event({ ...e, elapsedMs: 11_000, done: true }));
    progress.close();
    const lines = io.errText().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toBe(fitProgressLine('load', e, 50));
    expect(io.errText()).not.toContain('\r');
    expect(io.errText()).not.toContain('\x1b');
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

  it('draws plain lines on a dumb terminal, and nothing at all with --quiet', () => {
    expect(chooseProgressMode(captureIo(true, { env: { TERM: 'dumb' } }), false, false)).toBe('plain');
    expect(chooseProgressMode(captureIo(false, { env: { TERM: 'dumb' } }), false, false)).toBe('none');
    expect(chooseProgressMode(captureIo(true, { verbosity: 'quiet' }), false, false)).toBe('none');
    expect(chooseProgressMode(captureIo(true, { verbosity: 'quiet' }), true, false)).toBe('none');
    expect(chooseProgressMode(captureIo(true, { verbosity: 'verbose' }), false, false)).toBe('bar');
  });

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
