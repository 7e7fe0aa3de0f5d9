// A save interrupted by a signal stops cleanly (no file, no partial file, the error in --json) and exits with the
// shell's convention for a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLibc } from '../../src/device/vfio/ffi.ts';

const FIONREAD = 0x541b;

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

describe('a signal during a load from a stalled stdin pipe', () => {
  it('SIGTERM: exit 143 at once, VFM_ABORTED reported, the device RUNNING again', async () => {
    const stream = join(dir, 'nic.vfm');
    const saved = spawnSync(process.execPath, [MAIN, 'save', '--device', 'sim:nic,size=8m,dirty=0', '-o', stream]);
    expect(saved.status, String(saved.stderr)).toBe(0);
    const fifo = join(dir, 'stalled.fifo');
    execFileSync('mkfifo', [fifo]);
    // read-write: opening never blocks, and this side holds the writing end open, so the child never sees EOF
    const fd = openSync(fifo, 'r+');
    writeSync(fd, readFileSync(stream).subarray(0, 60_000)); // within the pipe's 64 KiB: no reader yet
    const child = spawn(process.execPath, [MAIN, 'load', '--device', 'sim:nic,size=8m', '-i', '-', '--json'], {
      stdio: [fd, 'pipe', 'pipe'],
    });
    // the load has started once it has drained the pipe (FIONREAD 0): its header read, the device resuming
    const libc = await loadLibc();
    const queued = new Uint8Array(4);
    for (let i = 0; i < 400; i++) {
      libc.ioctlPtr(fd, FIONREAD, queued);
      if (new DataView(queued.buffer).getInt32(0, true) === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(143);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, error: { code: 'VFM_ABORTED', finalState: 'RUNNING' } });
  });
});
