// The two ends as two processes (`receive` and `send`, as on two hosts) over TCP and over TLS: the destination ends
// with the source's state. A peer process killed mid-migration leaves the other end rolled back: the source's devices
// RUNNING, the destination's reset, each said in its --json failure.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import process from 'node:process';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTlsFixture } from '../transport/tls-fixtures.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const tlsFx = makeTlsFixture();
afterAll(() => rmSync(tlsFx.dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: the CLI's parsed --json output, which the assertions read freely
type Json = Record<string, any>;

interface Proc {
  child: ChildProcess;
  /** Resolves with the exit code and the parsed --json result. */
  done: Promise<{ code: number | null; json: Json; stderr: string }>;
  /** Resolves on the first NDJSON event of `type` on stderr. */
  event(type: string): Promise<Json>;
}

function cli(args: string[]): Proc {
  const child = spawn(process.execPath, [MAIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { type: string; resolve(e: Json): void }[] = [];
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => {
    stderr += d;
    for (const line of String(d).split('\n')) {
      if (!line.startsWith('{')) continue;
      let e: Json;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      for (const w of waiters.filter((w) => w.type === e.event || w.type === `${e.event}:${e.phase}`)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const done = new Promise<{ code: number | null; json: Json; stderr: string }>((resolve) =>
    child.on('exit', (code) =>
      resolve({ code, json: stdout.trim() ? JSON.parse(stdout.trim().split('\n').at(-1)!) : {}, stderr }),
    ),
  );
  return { child, done, event: (type) => new Promise((resolve) => waiters.push({ type, resolve })) };
}

async function pair(receiveArgs: string[], sendArgs: string[], listen = 'tcp://127.0.0.1:0') {
  const receive = cli(['receive', '--listen', listen, ...receiveArgs]);
  const { address } = await receive.event('listening');
  const send = cli(['send', '--to', address, ...sendArgs]);
  return { receive, send };
}

describe('send and receive in two processes', () => {
  it('over TCP with pre-copy: equal digests on both ends, the downtime an upper bound', async () => {
    const { receive, send } = await pair(['--device', 'sim:nic,size=8m'], ['--device', 'sim:nic,size=8m']);
    const [r, s] = await Promise.all([receive.done, send.done]);
    expect(s.code, s.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(s.json).toMatchObject({ ok: true, command: 'send', downtimeUpperBound: true });
    expect(s.json.sourceDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(s.json.destinationDigest).toBe(s.json.sourceDigest);
    expect(r.json.destinationDigest).toBe(s.json.sourceDigest);
    expect(s.json.downtimeMs).toBeGreaterThan(0);
    expect(s.json.breakdown).toMatchObject({ quiesceMs: expect.any(Number), ackMs: expect.any(Number) });
    expect(s.json.rounds.length).toBeGreaterThan(0);
  }, 60_000);

  it('over TLS (a certificate checked against its CA), a set of two devices, stop-and-copy', async () => {
    const devices = ['--device', 'sim:nic,size=4m', '--device', 'sim:gpu,size=8m'];
    const { receive, send } = await pair(
      [...devices, '--tls-cert', `${tlsFx.dir}/srv.pem`, '--tls-key', `${tlsFx.dir}/srv.key`],
      [...devices, '--tls-ca', `${tlsFx.dir}/ca.pem`, '--tls-servername', 'localhost', '--no-precopy'],
      'tls://127.0.0.1:0',
    );
    const [r, s] = await Promise.all([receive.done, send.done]);
    expect(s.code, s.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(s.json.convergence).toMatchObject({ precopy: false, reason: 'no-precopy' });
    expect(r.json.devices.map((d: { digest: string }) => d.digest)).toEqual(
      s.json.devices.map((d: { digest: string }) => d.digest),
    );
  }, 60_000);

  it('send --plan: plans first (a plan event), migrates with the recommendation, predicts from the plan', async () => {
    const dev = ['--device', 'sim:nic,size=4m,dirty=0'];
    const plan = ['--plan', '--no-precopy', '--max-bandwidth', '10MB', '--sample', '1m', '--measure-time', '0.3s'];
    const { receive, send } = await pair(dev, [...dev, ...plan]);
    const planned = await send.event('plan');
    const [r, s] = await Promise.all([receive.done, send.done]);
    expect(s.code, s.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(planned).toMatchObject({ command: 'send', link: 1e7, using: planned.recommendation });
    expect(s.json.predictedDowntimeMs).toBeGreaterThan(0);
    expect(s.json.destinationDigest).toBe(s.json.sourceDigest);
  }, 60_000);

  it('the receive process killed in pre-copy: send fails, its device RUNNING again', async () => {
    const { receive, send } = await pair(
      ['--device', 'sim:gpu,size=256m,dirty=0', '--timeout', '5'],
      ['--device', 'sim:gpu,size=256m,dirty=0', '--timeout', '5'],
    );
    await send.event('phase:precopy');
    receive.child.kill('SIGKILL');
    const s = await send.done;
    expect(s.code).toBe(1);
    expect(s.json.ok).toBe(false);
    expect(s.json.error.code).toMatch(/VFM_CONNECTION_LOST|VFM_PEER_STALLED/);
    expect(s.json.error.migration).toMatchObject({ sourceStates: ['RUNNING'] });
  }, 60_000);

  it('the send process killed in pre-copy: receive fails, its device reset', async () => {
    const { receive, send } = await pair(
      ['--device', 'sim:gpu,size=256m,dirty=0', '--timeout', '5'],
      ['--device', 'sim:gpu,size=256m,dirty=0', '--timeout', '5'],
    );
    await receive.event('phase:precopy');
    await new Promise((r) => setTimeout(r, 300));
    send.child.kill('SIGKILL');
    const r = await receive.done;
    expect(r.code).toBe(1);
    expect(r.json.error.code).toMatch(/VFM_CONNECTION_LOST|VFM_STREAM_TRUNCATED|VFM_PEER_STALLED/);
    expect(r.json.error.migration).toMatchObject({ destinationStates: ['RUNNING'] });
  }, 60_000);
});
