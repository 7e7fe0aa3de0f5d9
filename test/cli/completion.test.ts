// Shell completion generated from the command table, loaded into real bash, zsh and fish: commands, options,
// option values (codecs, device kinds with their colon), states for fsm, files, and every option of the table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.ts';
import { completionScript, SHELLS } from '../../src/cli/shell-completion.ts';
import { runCliCaptured } from '../helpers/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'vfm-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'gpu.vfm'), '');
writeFileSync(join(dir, 'nic.vfm'), '');

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;
for (const shell of SHELLS) {
  if (!has(shell) && process.env.CI)
    throw new Error(`${shell} is needed for the completion tests (.ci/run installs it)`);
}

function scriptFile(shell: (typeof SHELLS)[number]): string {
  const file = join(dir, `completion.${shell}`);
  writeFileSync(file, completionScript(shell, COMMANDS));
  return file;
}

/** What bash offers for each line (the cursor at its end), as sorted words. */
function bash(lines: string[]): string[] {
  const script = scriptFile('bash');
  const body = lines
    .map((l) => `COMP_LINE=${JSON.stringify(l)}; COMP_POINT=\${#COMP_LINE}; _vfio_migrate; echo "\${COMPREPLY[*]}"`)
    .join('\n');
  const r = spawnSync('bash', ['--norc', '-c', `source "${script}"\n${body}`], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  // sorted: file names come in directory order
  return r.stdout
    .split('\n')
    .slice(0, lines.length)
    .map((l) => l.split(' ').sort().join(' '));
}

/** What fish offers for `line`. */
function fish(line: string): string[] {
  const script = scriptFile('fish');
  const r = spawnSync('fish', ['--no-config', '-c', `source "${script}"; complete -C ${JSON.stringify(line)}`], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]!)
    .sort();
}

/** What an interactive zsh shows after `line` and a Tab (zsh's own zpty drives it). */
function zsh(line: string): string {
  const script = scriptFile('zsh');
  const driver = `
zmodload zsh/zpty
zpty z 'TERM=dumb zsh -f -i'
zpty -w z 'PS1="> "; autoload -Uz compinit; compinit -u -D; source "${script}"; unsetopt zle_bracketed_paste; print READY'
zpty -r z line '*READY*'; zpty -r z line '*READY*'
zpty -w -n z ${JSON.stringify(line)}$'\\t'
sleep 1
out=""; while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "$out"
zpty -d z`;
  const r = spawnSync('zsh', ['-f', '-c', driver], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.replace(/\r/g, '');
}

describe('shell completion', () => {
  it('prints each script from the CLI, and refuses an unknown shell', async () => {
    for (const shell of SHELLS) {
      const r = await runCliCaptured(['completion', shell]);
      expect(r).toMatchObject({ code: 0, out: completionScript(shell, COMMANDS) });
    }
    expect((await runCliCaptured(['completion', 'tcsh'])).code).toBe(2);
  });

  it('offers every option of every command (bash lists them all for a lone dash)', () => {
    if (!has('bash')) return;
    const offered = bash(COMMANDS.map((c) => `vfio-migrate ${c.name} -`));
    COMMANDS.forEach((c, i) => {
      const words = offered[i]!.split(' ');
      for (const name of Object.keys(c.options)) expect(words, c.name).toContain(`--${name}`);
      for (const common of ['--help', '--quiet', '--verbose', '-q', '-v']) expect(words, c.name).toContain(common);
    });
  });

  it.skipIf(!has('bash'))('bash: commands, values, device kinds across the colon, states, files', () => {
    expect(
      bash([
        'vfio-migrate sa',
        'vfio-migrate save --co',
        'vfio-migrate save --codec ',
        'vfio-migrate save --device sim:g',
        'vfio-migrate fsm --flags stop-copy RUNNING S',
        'vfio-migrate inspect ',
        'vfio-migrate save -o n',
        'vfio-migrate help lo',
      ]),
    ).toEqual([
      'save',
      '--codec --connect --connect-timeout',
      'lz4 none zstd',
      'gpu',
      'STOP STOP_COPY',
      'completion.bash gpu.vfm nic.vfm',
      'nic.vfm',
      'load',
    ]);
  });

  it.skipIf(!has('fish'))('fish: commands, values, device kinds, states', () => {
    expect(fish('vfio-migrate sa')).toEqual(['save']);
    expect(fish('vfio-migrate save --codec ')).toEqual(['lz4', 'none', 'zstd']);
    expect(fish('vfio-migrate save --device ')).toEqual(['sim:accel', 'sim:gpu', 'sim:minimal', 'sim:nic', 'vfio:']);
    expect(fish('vfio-migrate fsm RUNNING S')).toEqual(['STOP', 'STOP_COPY']);
    expect(fish('vfio-migrate sim ')).toEqual(['list', 'roundtrip', 'show']);
  });

  it.skipIf(!has('zsh'))('zsh: completes a command, a value, a device kind after its colon, and lists choices', () => {
    expect(zsh('vfio-migrate sa')).toContain('vfio-migrate save ');
    expect(zsh('vfio-migrate save --device sim:g')).toContain('vfio-migrate save --device sim:gpu');
    expect(zsh('vfio-migrate fsm RUNNING S')).toContain('vfio-migrate fsm RUNNING STOP');
    expect(zsh('vfio-migrate save --codec ')).toMatch(/lz4 +none +zstd/);
  });
});
