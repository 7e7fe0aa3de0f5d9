// The exit-status table the README documents: 0 done, 1 failed, 2 the command line is wrong (whichever layer
// noticed the bad value), 70 a bug; 128 + N for signals is test/cli/interrupt.test.ts and launcher.test.ts. A usage
// error says what was wrong in one line and where to read more, not the whole usage.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError } from '../../src/cli/command.ts';
import { EXIT, USAGE_ERROR_CODES } from '../../src/cli/exit-status.ts';
import { ERROR_CODES, PipelineConfigError, StreamCorruptError, UsageError } from '../../src/index.ts';
import { runCliCaptured } from '../helpers/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'vfm-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = (name: string) => join(dir, name);

const table: Array<[argv: string[], status: number, code: string | null]> = [
  [['fsm', 'RUNNING', 'STOP_COPY'], 0, null],
  [['help'], 0, null],
  [['save', '--help'], 0, null],
  [['fsm', 'RUNNING', 'FOO'], 2, 'VFM_UNKNOWN_STATE'],
  [['fsm', '--flags', 'bogus'], 2, 'VFM_UNKNOWN_FLAG'],
  [['fsm', '--flags', 'p2p'], 2, 'VFM_FLAGS_NO_STOP_COPY'],
  [['fsm', '--nope'], 2, 'VFM_USAGE'],
  [['fsm', 'RUNNING'], 2, 'VFM_USAGE'],
  [['save', '--device', 'nope', '-o', out('a.vfm')], 2, 'VFM_DEVICE_SPEC'],
  [['save', '--device', 'sim:nic,size=3', '-o', out('b.vfm')], 2, 'VFM_DEVICE_SPEC'],
  [['save', '--device', 'sim:minimal', '--budget', '1k', '-o', out('c.vfm')], 2, 'VFM_PIPELINE_CONFIG'],
  [
    ['save', '--device', 'sim:minimal', '--chunking', 'cdc', '--chunk-size', '3000', '-o', out('d.vfm')],
    2,
    'VFM_PIPELINE_CONFIG',
  ],
  [['save', '--device', 'sim:minimal', '--chunk-size', '1t', '-o', out('e.vfm')], 2, 'VFM_USAGE'],
  [['save', '--device', 'sim:minimal', '-o', 'tcpx://host'], 2, 'VFM_TRANSPORT_SPEC'],
  [['save', '--quiet', '--verbose', '-o', out('f.vfm')], 2, 'VFM_USAGE'],
  [['save', 'extra', '-o', out('g.vfm')], 2, 'VFM_USAGE'],
  [['sim', 'show', 'gpu,sise=2g'], 2, 'VFM_DEVICE_SPEC'],
  [['completion', 'tcsh'], 2, 'VFM_USAGE'],
  [['fsm', 'STOP_COPY', 'PRE_COPY'], 1, 'VFM_TRANSITION_REJECTED'],
  [['load', '--device', 'sim:minimal', '-i', out('missing.vfm')], 1, 'VFM_TRANSPORT_IO'],
  [['inspect', out('missing.vfm')], 1, 'VFM_TRANSPORT_IO'],
];

describe('exit status', () => {
  it.each(table)('%j exits %i (%s)', async (argv, status, code) => {
    const r = await runCliCaptured(code === null ? argv : [...argv, '--json']);
    expect(r.code, r.err).toBe(status);
    if (code === null) return;
    expect(JSON.parse(r.out.trim().split('\n').at(-1)!)).toMatchObject({
      ok: false,
      command: argv[0],
      error: { code },
    });
  });

  it('a save whose device does not open leaves its output directory as it was (the output opens meanwhile)', async () => {
    const where = mkdtempSync(join(dir, 'device-fails-'));
    writeFileSync(join(where, 'kept.vfm'), 'old bytes');
    for (const argv of [
      ['save', '--device', 'sim:nic,size=3', '-o', join(where, 'new.vfm')],
      ['save', '--device', 'sim:nic,size=3', '-o', join(where, 'kept.vfm')],
      ['save', '--device', 'sim:nic,size=3', '--no-clobber', '-o', join(where, 'kept.vfm')],
    ]) {
      const r = await runCliCaptured([...argv, '--json']);
      expect(r.code).toBe(2);
      // the device's error, not the output's (--no-clobber on an existing file fails too)
      expect(JSON.parse(r.out.trim().split('\n').at(-1)!).error.code).toBe('VFM_DEVICE_SPEC');
      expect(readdirSync(where)).toEqual(['kept.vfm']);
      expect(readFileSync(join(where, 'kept.vfm'), 'utf8')).toBe('old bytes');
    }
    const clobber = await runCliCaptured([
      'save',
      '--device',
      'sim:minimal',
      '--no-clobber',
      '-o',
      join(where, 'kept.vfm'),
      '--json',
    ]);
    expect(JSON.parse(clobber.out.trim().split('\n').at(-1)!).error.code).toBe('VFM_OUTPUT_EXISTS');
    expect(readdirSync(where)).toEqual(['kept.vfm']);
  });

  it('exits 2 for no command or an unknown one, naming the closest command', async () => {
    const none = await runCliCaptured([]);
    expect(none.code).toBe(2);
    expect(none.out).toBe('');
    expect(none.err).toContain('commands:');
    const typo = await runCliCaptured(['sav', '-o', 'x']);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/^vfio-migrate: unknown command "sav" \(did you mean save\?\)\n/);
  });

  it('prints a usage error as one line and where to read more, not the whole usage', async () => {
    const r = await runCliCaptured(['save', '--codec', 'lz5', '-o', out('h.vfm')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'vfio-migrate save: VFM_USAGE: --codec must be lz4, zstd or none, not "lz5"\n' +
        "Run 'vfio-migrate help save' for its usage.\n",
    );
  });

  it('maps errors by their class: usage codes to 2, others to 1, anything not ours to 70', () => {
    expect(describeError(new UsageError('x')).exitCode).toBe(EXIT.USAGE);
    expect(describeError(new PipelineConfigError('x')).exitCode).toBe(EXIT.USAGE);
    expect(describeError(new StreamCorruptError('x', 10)).exitCode).toBe(EXIT.FAILURE);
    expect(describeError(new TypeError('bug'))).toEqual({
      report: { code: 'VFM_INTERNAL', message: 'bug' },
      exitCode: EXIT.INTERNAL,
    });
    for (const code of USAGE_ERROR_CODES) expect(ERROR_CODES).toContain(code);
  });

  it('--version prints the version in package.json', async () => {
    const r = await runCliCaptured(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(r).toMatchObject({ code: 0, out: `${pkg.version}\n` });
  });
});
