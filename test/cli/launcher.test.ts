// The `vfio-migrate` bin started by a Node older than the package supports: it re-runs the CLI under the pinned
// Node in a child, passes SIGINT/SIGTERM/SIGHUP on, waits for the child and exits as it did. Without that, a signal
// ended the launcher alone and the orphaned child went on writing the whole file. Runs the built launcher
// (dist/cli/launcher.js: `npm test` builds first).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOldNode } from '../helpers/old-node.ts';

const LAUNCHER = new URL('../../dist/cli/launcher.js', import.meta.url).pathname;
const { node: oldNode, looked } = findOldNode();
if (!oldNode && process.env.CI) throw new Error(`no Node older than 22.12 for the launcher tests (looked: ${looked})`);
if (!oldNode) console.warn(`launcher tests skipped: no Node older than 22.12 here (looked: ${looked.join(', ')})`);

const dir = mkdtempSync(join(tmpdir(), 'vfm-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function launch(args: string[]): { child: ChildProcess; ended: Promise<Ended>; moving: Promise<void> } {
  const child = spawn(oldNode!, [LAUNCHER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markMoving: () => void = () => {};
  const moving = new Promise<void>((resolve) => (markMoving = resolve));
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => {
    stderr += d;
    // the first progress event: the device is in STOP_COPY and bytes are moving into the partial file
    if (stderr.includes('"event":"progress"')) markMoving();
  });
  const ended = new Promise<Ended>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, ended, moving };
}

/** The launcher's children (the CLI under the pinned Node), from /proc. */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const longSave = (name: string) => ['save', '--device', 'sim:gpu,size=8g,dirty=0', '-o', join(dir, name), '--json'];

describe.skipIf(!oldNode)('the launcher under an old Node', () => {
  beforeAll(() => {
    if (!existsSync(LAUNCHER)) throw new Error(`${LAUNCHER} is missing: run npm run build first`);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s to the launcher stops the save in the child: exit %i, child gone, no file', async (sig, status) => {
    const { child, ended, moving } = launch(longSave(`${sig}.vfm`));
    await moving;
    const [cli] = childrenOf(child.pid!);
    expect(cli).toBeDefined();
    // the child is the CLI under the pinned Node, not the old one
    expect(readFileSync(`/proc/${cli}/cmdline`, 'utf8')).toContain('node_modules/node/bin/node');
    child.kill(sig);
    const r = await ended;
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: status, signal: null });
    expect(alive(cli!)).toBe(false);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, command: 'save', error: { code: 'VFM_ABORTED' } });
    expect(readdirSync(dir).filter((f) => f.includes(sig))).toEqual([]);
  });

  it('exits 137 when the child is killed with SIGKILL', async () => {
    const { child, ended, moving } = launch(longSave('killed.vfm'));
    await moving;
    const [cli] = childrenOf(child.pid!);
    process.kill(cli!, 'SIGKILL');
    const r = await ended;
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 137, signal: null });
  });

  it("passes the child's exit status and output through", async () => {
    const ok = await launch(['fsm', 'RUNNING', 'STOP_COPY', '--flags', 'stop-copy']).ended;
    expect(ok).toMatchObject({ code: 0, stdout: 'RUNNING -> STOP -> STOP_COPY\n' });
    const usage = await launch(['fsm', 'RUNNING', 'FOO']).ended;
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('VFM_UNKNOWN_STATE');
  });
});
