// `save -o -` does not write binary to a terminal and `load -i -` does not wait for a stream typed at one (as zstd
// and gzip refuse), unless --force-tty; through a pipe they work as before.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.ts';
import { runCli } from '../../src/cli/run-cli.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vfm-tty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function terminalIo(tty: { outIsTTY?: boolean; inIsTTY?: boolean }) {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    errIsTTY: false,
    env: {},
    signal: new AbortController().signal,
    ...tty,
  };
  return { io, out: () => out, err: () => err };
}

const haveScript = spawnSync('script', ['--version']).status === 0;
if (!haveScript && process.env.CI) throw new Error('util-linux script is needed for the pseudo-terminal tests');

describe('binary streams and terminals', () => {
  it('save -o - refuses stdout on a terminal before touching the device, exit 2', async () => {
    const t = terminalIo({ outIsTTY: true });
    expect(await runCli(['save', '--device', 'sim:minimal', '-o', '-'], t.io)).toBe(2);
    expect(t.out()).toBe('');
    expect(t.err()).toMatch(
      /^vfio-migrate save: VFM_USAGE: refusing to write a binary stream to a terminal.*--force-tty/,
    );
  });

  it('load -i - refuses stdin on a terminal, exit 2', async () => {
    const t = terminalIo({ inIsTTY: true });
    expect(await runCli(['load', '--device', 'sim:minimal', '-i', '-'], t.io)).toBe(2);
    expect(t.err()).toMatch(/refusing to read a stream from a terminal/);
  });

  it('a terminal elsewhere does not matter: save -o FILE with stdout on a terminal works', async () => {
    const t = terminalIo({ outIsTTY: true, inIsTTY: true });
    expect(await runCli(['save', '--device', 'sim:minimal', '-o', join(dir, 'file.vfm')], t.io)).toBe(0);
    expect(statSync(join(dir, 'file.vfm')).size).toBeGreaterThan(0);
  });

  describe.skipIf(!haveScript)('on a real pseudo-terminal', () => {
    const run = (command: string) =>
      spawnSync('script', ['-qfec', command, '/dev/null'], { encoding: 'latin1', timeout: 60_000 });
    const save = `"${process.execPath}" "${MAIN}" save --device sim:minimal -o -`;

    it('refuses, and no binary reaches the screen', () => {
      const r = run(save);
      expect(r.status).toBe(2);
      expect(r.stdout).toContain('refusing to write a binary stream to a terminal');
      expect(r.stdout).not.toContain('\x2a\x4d\x18'); // the stream's first frame (skippable, 0x184D2A5?)
      expect(r.stdout.length).toBeLessThan(1000);
    });

    it('writes with --force-tty, and through a pipe without it', () => {
      const forced = run(`${save} --force-tty --codec none`);
      expect(forced.status).toBe(0);
      expect(forced.stdout.length).toBeGreaterThan(256 * 1024);
      expect(forced.stdout).toContain('\x2a\x4d\x18');
      const file = join(dir, 'piped.vfm');
      const piped = run(`${save} | cat > "${file}"`);
      expect(piped.status).toBe(0);
      expect(readFileSync(file).length).toBeGreaterThan(1000);
    });
  });
});
