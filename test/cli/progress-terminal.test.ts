// The progress bar on a real pseudo-terminal (util-linux `script`), as a person at an 80-column terminal sees it:
// every redraw fits the width, nothing stale is left above the summary, a resize redraws at the new width, and a
// dumb terminal gets plain lines without cursor control.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, describe, expect, it } from 'vitest';
import { TerminalScreen } from '../helpers/terminal-screen.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vfm-pty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const haveScript = spawnSync('script', ['--version']).status === 0;
if (!haveScript && process.env.CI) throw new Error('util-linux script is needed for the pseudo-terminal tests');

/** Runs `command` in a shell on a fresh pseudo-terminal; resolves with everything the terminal received. */
function onTerminal(command: string, env: Record<string, string> = {}): string {
  const r = spawnSync('script', ['-qfec', command, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, TERM: 'xterm-256color', ...env },
    timeout: 120_000,
  });
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A save long enough for several redraws (a mostly-zero GPU on one codec thread: 512m take about 2 s). */
function saveCommand(file: string, size = '512m'): string {
  return `"${process.execPath}" "${MAIN}" save --device sim:gpu,size=${size},dirty=0 -o "${file}" --workers 1`;
}

/** The text of each bar drawn: what follows each erase-line (or cursor-up and erase-down) sequence. */
function draws(output: string): string[] {
  return (
    output
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences are what is looked for
      .split(/\r\x1b\[2K|\r\x1b\[\d+A\x1b\[J/)
      .slice(1)
      .map((d) => d.split(/[\r\n]/)[0]!)
      .filter((d) => d.includes('eta '))
  );
}

describe.skipIf(!haveScript)('progress on a terminal', () => {
  it('fits an 80-column terminal: every redraw under 80 columns, nothing stale above the summary', () => {
    const file = join(dir, 'eighty.vfm');
    const output = onTerminal(`stty cols 80 rows 40; ${saveCommand(file)}`);
    const drawn = draws(output);
    expect(drawn.length).toBeGreaterThanOrEqual(3);
    for (const line of drawn) expect(line.length, line).toBeLessThan(80);
    expect(drawn.some((l) => l.includes('%') && l.includes('MiB/s'))).toBe(true);

    // the summary's two lines (each wider than 80 columns, so wrapped) are all that is left on the screen
    const screen = new TerminalScreen(80).write(output).lines();
    expect(
      screen.filter((l) => l.includes('eta ')),
      screen.join('\n'),
    ).toEqual([]);
    expect(screen[0]).toMatch(/^saved sim:gpu/);
    expect(screen.join('')).toMatch(/device now RUNNING; state digest [0-9a-f]{64}$/);
    expect(screen.filter((l) => l.startsWith('saved ') || l.startsWith('device now'))).toHaveLength(2);
  });

  it('redraws at the new width when the terminal is narrowed mid-run', () => {
    const file = join(dir, 'narrowed.vfm');
    // narrow it once data moves (the partial output file has grown), so a wide bar has been drawn first
    const moving = `[ -n "$(find "${dir}" -name '.narrowed.vfm.partial-*' -size +64k)" ]`;
    const output = onTerminal(
      `stty cols 120 rows 40; ${saveCommand(file, '1g')} & until ${moving}; do sleep 0.05; done; sleep 0.3; ` +
        'stty cols 50; wait $!',
    );
    const drawn = draws(output);
    const wide = drawn.findIndex((l) => l.length >= 50);
    const narrowAfterWide = drawn.slice(wide + 1).findIndex((l) => l.length < 50);
    expect(wide, drawn.join('\n')).toBeGreaterThanOrEqual(0);
    expect(narrowAfterWide, drawn.join('\n')).toBeGreaterThanOrEqual(0);
    // once narrowed, every redraw fits the new width
    for (const line of drawn.slice(wide + 1 + narrowAfterWide)) expect(line.length, line).toBeLessThan(50);
  });

  it('writes plain lines without cursor control on a dumb terminal', () => {
    const file = join(dir, 'dumb.vfm');
    const output = onTerminal(`stty cols 80 rows 40; ${saveCommand(file)}`, { TERM: 'dumb' });
    expect(output).not.toContain('\x1b');
    const lines = output.split('\r\n');
    const progress = lines.filter((l) => l.includes('eta '));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const line of progress) {
      expect(line.length).toBeLessThan(80);
      expect(line).not.toContain('\r');
    }
    expect(lines.some((l) => l.startsWith('saved sim:gpu'))).toBe(true);
  });
});
