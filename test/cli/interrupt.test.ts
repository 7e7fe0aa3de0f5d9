// A save interrupted by a signal stops cleanly (no file, no partial file, the error in --json) and exits with the
// shell's convention for a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vfm-interrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a long save, sends `signal` once it is moving data, and resolves with what the process did. */
function interruptedSave(signal: NodeJS.Signals, name: string, times = 1) {
  const out = join(dir, name);
  const child = spawn(
    process.execPath,
    [MAIN, 'save', '--device', 'sim:gpu,size=8g,dirty=0', '-o', out, '--json', '--workers', '1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    // the first progress event: the device is in STOP_COPY and bytes are moving into the partial file
    if (!sent && stderr.includes('"event":"progress"')) {
      sent = true;
      for (let i = 0; i < times; i++) child.kill(signal);
    }
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string; out: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr, out })),
  );
}

describe('a signal during save', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: exit %i, VFM_ABORTED reported, no output file and no partial file left', async (sig, code) => {
    const r = await interruptedSave(sig, `${sig}.vfm`);
    expect(r.code, r.stderr).toBe(code);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'VFM_ABORTED' } });
    expect(readdirSync(dir).filter((f) => f.includes(sig))).toEqual([]);
  });

  it('takes a signal repeated at once (a Ctrl-C the launcher forwards too) as one request: still a clean stop', async () => {
    const r = await interruptedSave('SIGINT', 'twice.vfm', 2);
    expect(r.code, r.stderr).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'VFM_ABORTED' } });
    expect(r.stderr).not.toContain('exiting without waiting');
    expect(readdirSync(dir).filter((f) => f.includes('twice'))).toEqual([]);
  });
});
