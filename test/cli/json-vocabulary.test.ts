// One vocabulary across the commands' --json results (README: "JSON output"): `ok` and `command` everywhere; a
// section has the same shape whether save wrote it, load read it or inspect measured it; `digest` is the device's
// state digest and `streamDigest` the stream's hash chain, in every command that has them. And what --quiet and
// --verbose change.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'vfm-vocabulary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEV = 'sim:nic,size=4m';
const lastJson = (text: string) => JSON.parse(text.trim().split('\n').at(-1)!);

describe('--json vocabulary', () => {
  it('save, load and inspect agree on sections, the state digest and the stream digest', async () => {
    const file = join(dir, 'precopy.vfm');
    const save = await runCliCaptured(['save', '--device', DEV, '-o', file, '--precopy', '--workers', '1', '--json']);
    expect(save.code, save.err).toBe(0);
    const saved = lastJson(save.out);
    const load = await runCliCaptured(['load', '--device', DEV, '-i', file, '--workers', '1', '--json']);
    expect(load.code, load.err).toBe(0);
    const loaded = lastJson(load.out);
    const inspect = await runCliCaptured(['inspect', file, '--json']);
    const inspected = lastJson(inspect.out);

    expect(saved).toMatchObject({ ok: true, command: 'save' });
    expect(loaded).toMatchObject({ ok: true, command: 'load' });
    expect(inspected).toMatchObject({ ok: true, command: 'inspect' });

    // pre-copy round(s) then stop-copy, each placed in the device data
    expect(saved.sections.length).toBeGreaterThanOrEqual(2);
    expect(saved.sections.map((s: { kind: string }) => s.kind).at(-1)).toBe('stop-copy');
    for (const s of saved.sections)
      expect(Object.keys(s).sort()).toEqual(['bytes', 'chunks', 'index', 'kind', 'rawOffset']);
    expect(loaded.sections).toEqual(saved.sections);
    expect(
      inspected.sections.map(({ index, kind, rawOffset, bytes, chunks }: Record<string, unknown>) => ({
        index,
        kind,
        rawOffset,
        bytes,
        chunks,
      })),
    ).toEqual(saved.sections);
    const last = saved.sections.at(-1);
    expect(last.rawOffset + last.bytes).toBe(saved.bytes);

    for (const key of ['bytes', 'wireBytes', 'chunks', 'streamDigest'] as const) {
      expect(loaded[key], key).toBe(saved[key]);
      expect(inspected[key], key).toBe(saved[key]);
    }
    expect(saved.streamDigest).toMatch(/^[0-9a-f]{16}$/);
    expect(saved.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.digest).toBe(saved.digest);
    expect(inspected.digest).toBeUndefined();

    // the text form says which digest is which, and renders the device record instead of dumping its JSON
    const text = (await runCliCaptured(['inspect', file])).out;
    expect(text).toContain(`stream digest ${saved.streamDigest}`);
    expect(text).not.toMatch(/^digest/m);
    expect(text).toMatch(/^device {8}sim:nic,size=4m\n {14}kind sim, .*profile nic/m);
    expect(text).not.toContain('{"');
    const lines = text.split('\n');
    const device = lines.slice(
      lines.findIndex((l) => l.startsWith('device')),
      lines.findIndex((l) => l.startsWith('flags')),
    );
    expect(device.length).toBeGreaterThanOrEqual(2);
    for (const line of device) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('every command answers with ok and command', async () => {
    const runs = [
      ['fsm', '--json'],
      ['fsm', 'RUNNING', 'STOP', '--json'],
      ['sim', 'list', '--json'],
      ['sim', 'show', 'nic', '--json'],
      ['sim', 'roundtrip', 'minimal', '--json'],
      ['reset', '--device', 'sim:minimal', '--json'],
      ['recover', '--device', 'sim:minimal', '--json'],
    ];
    for (const argv of runs) {
      const r = await runCliCaptured(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(lastJson(r.out), argv.join(' ')).toMatchObject({ ok: true, command: argv[0] });
    }
  });
});

describe('--quiet and --verbose', () => {
  it('--quiet prints nothing for a successful save; the exit status says it', async () => {
    const r = await runCliCaptured(['save', '--device', 'sim:minimal', '-o', join(dir, 'quiet.vfm'), '-q']);
    expect(r).toEqual({ code: 0, out: '', err: '' });
  });

  it('--quiet still reports an error', async () => {
    const r = await runCliCaptured(['load', '--device', 'sim:minimal', '-i', join(dir, 'none.vfm'), '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('VFM_TRANSPORT_IO');
  });

  it('--verbose adds what the pipeline decided, matching the result', async () => {
    const r = await runCliCaptured([
      'save',
      '--device',
      'sim:minimal',
      '-o',
      join(dir, 'verbose.vfm'),
      '--codec',
      'zstd',
      '--workers',
      '1',
      '--verbose',
      '--json',
      '--no-progress',
    ]);
    expect(r.code, r.err).toBe(0);
    const result = lastJson(r.out);
    expect(result.workers).toBe(1);
    expect(r.err).toMatch(/^vfio-migrate: device sim:minimal.*: migration flags stop-copy, now RUNNING$/m);
    expect(r.err).toMatch(/^vfio-migrate: pipeline: 1 codec threads, byte budget .* fixed 1\.00 MiB chunks$/m);
    expect(r.err).toMatch(
      /^vfio-migrate: codec: zstd level 3 from (node:zlib|zstd-codec); .*\((simd|scalar) build\)$/m,
    );
  });
});
