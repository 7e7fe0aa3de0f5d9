import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { deviceBytes, encodeAll, FIXED_64K } from './stream-fixtures.ts';

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    errIsTTY: false,
    env: {},
    signal: new AbortController().signal,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

const dir = mkdtempSync(join(tmpdir(), 'vfm-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vfio-migrate inspect', () => {
  it('reports header, sections, sizes and a passing verification', async () => {
    const file = join(dir, 'good.vfm');
    const data = deviceBytes(300_000, 2);
    writeFileSync(
      file,
      await encodeAll(data, { codec: 'zstd', chunking: FIXED_64K, migrationFlags: 5, device: { id: 'sim:nic' } }),
    );
    const t = fakeIo();
    expect(await runCli(['inspect', file], t.io)).toBe(0);
    expect(t.out()).toMatch(/codec +zstd level 3/);
    expect(t.out()).toMatch(/flags +stop-copy,pre-copy/);
    expect(t.out()).toMatch(/#0 stop-copy/);
    expect(t.out()).toMatch(/verification +OK \(full\)/);
    const j = fakeIo();
    expect(await runCli(['inspect', file, '--json'], j.io)).toBe(0);
    const report = JSON.parse(j.out());
    expect(report).toMatchObject({
      ok: true,
      command: 'inspect',
      bytes: 300_000,
      chunks: 5,
      header: { codec: 'zstd', device: { id: 'sim:nic' } },
    });
    expect(report.zeroChunks).toBeGreaterThan(0);
    expect(report.ratio).toBeLessThan(1);
    expect(report.ratio).toBeCloseTo(report.wireBytes / report.bytes, 9);
  });

  it('exits 1 with the error code and offset for a damaged stream, in one JSON object', async () => {
    const bytes = await encodeAll(deviceBytes(300_000, 2), { codec: 'lz4', chunking: FIXED_64K });
    bytes[bytes.length - 30_000]! ^= 0x80;
    const file = join(dir, 'bad.vfm');
    writeFileSync(file, bytes);
    const t = fakeIo();
    expect(await runCli(['inspect', file, '--json'], t.io)).toBe(1);
    const lines = t.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(report.ok).toBe(false);
    expect(report.error.code).toBe('VFM_STREAM_CORRUPT');
    expect(report.error.offset).toBeGreaterThan(0);
    expect(t.err()).toMatch(/^vfio-migrate inspect: VFM_STREAM_CORRUPT: /);
  });

  it('structure mode passes data damage that only full verification catches', async () => {
    const bytes = await encodeAll(deviceBytes(300_000, 2), { codec: 'none', chunking: FIXED_64K });
    bytes[bytes.length - 30_000]! ^= 0x01;
    const file = join(dir, 'data-damage.vfm');
    writeFileSync(file, bytes);
    expect(await runCli(['inspect', file, '--verify', 'structure'], fakeIo().io)).toBe(0);
    expect(await runCli(['inspect', file], fakeIo().io)).toBe(1);
  });

  it('a file that is not a stream is foreign; a missing file is an I/O error; bad flags are usage errors', async () => {
    const file = join(dir, 'text.txt');
    writeFileSync(file, 'just some text that is long enough');
    const t = fakeIo();
    expect(await runCli(['inspect', file], t.io)).toBe(1);
    expect(t.err()).toMatch(/VFM_STREAM_FOREIGN/);
    const m = fakeIo();
    expect(await runCli(['inspect', join(dir, 'missing.vfm')], m.io)).toBe(1);
    expect(m.err()).toMatch(/VFM_TRANSPORT_IO/);
    expect(await runCli(['inspect', file, '--verify', 'maybe'], fakeIo().io)).toBe(2);
    expect(await runCli(['inspect'], fakeIo().io)).toBe(2);
  });
});
