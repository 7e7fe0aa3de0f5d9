// `load` facing peers that reset, stay silent, trickle, or stop reading; `save` facing a destination that stalls; a
// sender that picks huge chunks. No peer may crash, stall or starve the other end: every case ends in bounded time
// with a typed error in --json, the destination device reset (never resumed), the source device RUNNING.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.ts';
import { runCli } from '../../src/cli/run-cli.ts';

interface Run {
  code: number;
  out: string;
  err: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed --json output, probed in assertions
  json: any;
}

/** Runs the CLI in-process; `onErr` sees stderr as it is written (the listening address, refusals). */
async function cli(argv: string[], onErr?: (text: string) => void): Promise<Run> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => void (out += t),
    err: (t) => {
      err += t;
      onErr?.(t);
    },
    errIsTTY: false,
    env: {},
    signal: new AbortController().signal,
  };
  const code = await runCli(argv, io);
  const last = out.trim().split('\n').at(-1);
  return { code, out, err, json: last ? JSON.parse(last) : null };
}

/** `load ... --json` listening on a free port: its address once bound, and its completion. */
async function listeningLoad(argv: string[]) {
  let resolveAddr!: (a: string) => void;
  const address = new Promise<string>((r) => (resolveAddr = r));
  const refused: string[] = [];
  const done = cli(['load', '-i', 'tcp://127.0.0.1:0', '--json', ...argv], (text) => {
    for (const line of text.split('\n')) {
      const m = /"event":"listening","address":"([^"]+)"/.exec(line);
      if (m) resolveAddr(m[1]!);
      if (line.includes('"event":"refused"')) refused.push(JSON.parse(line).reason);
    }
  });
  const addr = await Promise.race([address, done.then((r) => Promise.reject(new Error(r.err)))]);
  return { port: Number(new URL(addr).port), address: addr, done, refused };
}

const connect = (port: number) =>
  new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
  });

let dir: string;
let stream: Buffer; // a real saved stream of sim:nic,size=2m,dirty=0
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vfm-hostile-'));
  const file = join(dir, 'nic.vfm');
  const r = await cli(['save', '--device', 'sim:nic,size=2m,dirty=0', '-o', file, '--json', '--codec', 'none']);
  expect(r.code, r.err).toBe(0);
  stream = readFileSync(file);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DST = ['--device', 'sim:nic,size=2m,dirty=0'];

describe('load against hostile peers', () => {
  it('a peer that resets before sending anything is refused; the listener waits on and reports it at its deadline', async () => {
    const load = await listeningLoad([...DST, '--accept-timeout', '2']);
    const peer = await connect(load.port);
    peer.resetAndDestroy();
    const r = await load.done;
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'VFM_ACCEPT_TIMEOUT' } });
    expect(r.json.error.message).toMatch(/refused 1/);
  });

  it('a peer that starts a stream and resets while the device is prepared: a typed error, not a crash', async () => {
    const load = await listeningLoad(DST);
    const peer = await connect(load.port);
    peer.write(stream.subarray(0, 12), () => peer.resetAndDestroy());
    const r = await load.done;
    expect(r.code).toBe(1);
    expect(['VFM_CONNECTION_LOST', 'VFM_STREAM_TRUNCATED']).toContain(r.json.error.code);
    expect(r.json.error.finalState).toBe('RUNNING');
  });

  it('a silent peer and a foreign one are refused within the handshake deadline, then the real sender is served', async () => {
    const load = await listeningLoad([...DST, '--accept-timeout', '30']);
    const silent = await connect(load.port);
    const http = await connect(load.port);
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // the real sender comes after both
    const save = await cli(['save', '--device', 'sim:nic,size=2m,dirty=0', '-o', load.address, '--json']);
    const r = await load.done;
    expect(save.code, save.err).toBe(0);
    expect(r.code, r.err).toBe(0);
    expect(r.json.digest).toBe(save.json.digest);
    expect(load.refused.join('\n')).toMatch(/not a vfio-migrate stream/);
    silent.destroy();
    http.destroy();
  }, 30_000);

  it('a peer that trickles the header is cut at the header deadline, before the device is touched', async () => {
    const load = await listeningLoad([...DST, '--header-timeout', '1', '--timeout', '10']);
    const peer = await connect(load.port);
    peer.write(stream.subarray(0, 12));
    let at = 12;
    const drip = setInterval(() => peer.write(stream.subarray(at, ++at)), 100);
    const t0 = Date.now();
    const r = await load.done;
    clearInterval(drip);
    peer.destroy();
    expect(r.json).toMatchObject({ ok: false, error: { code: 'VFM_HEADER_TIMEOUT', finalState: 'RUNNING' } });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a peer that trickles once the device is RESUMING is cut by the minimum rate; the device is reset', async () => {
    const load = await listeningLoad([...DST, '--timeout', '2', '--min-rate', '64k', '--workers', '0']);
    const peer = await connect(load.port);
    peer.write(stream.subarray(0, 300_000)); // header, section and some chunks: the device goes to RESUMING
    let at = 300_000;
    const drip = setInterval(() => peer.write(stream.subarray(at, (at += 10))), 50);
    const t0 = Date.now();
    const r = await load.done;
    clearInterval(drip);
    peer.destroy();
    expect(r.json).toMatchObject({ ok: false, error: { code: 'VFM_PEER_STALLED', limit: 'min-rate' } });
    expect(r.json.error.finalState).toBe('RUNNING');
    expect(Date.now() - t0).toBeLessThan(8_000);
  });
});

describe('a destination device that stalls', () => {
  it('both ends give up within the timeout: load resets its device, save returns its device to RUNNING', async () => {
    const load = await listeningLoad(['--device', 'sim:nic,size=8m,dirty=0,stall-at=1000000', '--timeout', '2']);
    const t0 = Date.now();
    const save = await cli([
      'save',
      '--device',
      'sim:nic,size=8m,dirty=0',
      '-o',
      load.address,
      '--timeout',
      '2',
      '--json',
    ]);
    const r = await load.done;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'VFM_DEVICE_STALLED', finalState: 'RUNNING' } });
    expect(save.code).toBe(1);
    // Both ends time out after 2 s: the sender's own clock (the peer stalled, or the loader hung up on it) or, when the
    // loader's comes first, the loader's failure receipt.
    expect(['VFM_PEER_STALLED', 'VFM_CONNECTION_LOST', 'VFM_PEER_FAILED']).toContain(save.json.error.code);
    if (save.json.error.code === 'VFM_PEER_FAILED') expect(save.json.error.peerCode).toBe('VFM_DEVICE_STALLED');
    expect(save.json.error.finalState).toBe('RUNNING');
  }, 20_000);
});

describe('the sender learns how the load went', () => {
  it("a load that fails after taking every byte (the device refuses RESUMING -> STOP) fails the save, with the loader's code", async () => {
    const load = await listeningLoad(['--device', 'sim:nic,size=2m,dirty=0,fail-arc=RESUMING>STOP']);
    const save = await cli(['save', '--device', 'sim:nic,size=2m,dirty=0', '-o', load.address, '--json']);
    const r = await load.done;
    expect(r.json).toMatchObject({ ok: false, error: { code: 'VFM_ARC_FAILED', finalState: 'RUNNING' } });
    expect(save.code).toBe(1);
    expect(save.json).toMatchObject({
      ok: false,
      error: {
        code: 'VFM_PEER_FAILED',
        peerCode: 'VFM_ARC_FAILED',
        peerFinalState: 'RUNNING',
        finalState: 'RUNNING',
      },
    });
  });

  it('a plain byte sink that reads everything and closes (no receipt, like nc) is a successful save', async () => {
    let bytes = 0;
    const server = net.createServer((s) => {
      s.on('data', (d) => (bytes += d.length));
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const save = await cli(['save', '--device', 'sim:nic,size=2m,dirty=0', '-o', `tcp://127.0.0.1:${port}`, '--json']);
    server.close();
    expect(save.code, save.err).toBe(0);
    expect(bytes).toBe(save.json.wireBytes);
  });
});

describe('a sender that picks huge chunks', () => {
  it("is refused at the header by a receiver with default settings: the receiver's memory is its own choice", async () => {
    const load = await listeningLoad(['--device', 'sim:gpu,size=256m,dirty=0']);
    const save = await cli([
      'save',
      '--device',
      'sim:gpu,size=256m,dirty=0',
      '-o',
      load.address,
      '--chunk-size',
      '64m',
      '--json',
    ]);
    const r = await load.done;
    expect(r.json).toMatchObject({ ok: false, error: { code: 'VFM_STREAM_LIMIT', finalState: 'RUNNING' } });
    expect(r.json.error.message).toMatch(/more than this receiver's budget/);
    expect(save.code).toBe(1);
  }, 30_000);

  it('is taken by a receiver that chose a budget for it, which then holds at most that budget', async () => {
    const budget = 300 << 20;
    const load = await listeningLoad(['--device', 'sim:gpu,size=256m,dirty=0', '--budget', '300m', '--workers', '1']);
    const save = await cli([
      'save',
      '--device',
      'sim:gpu,size=256m,dirty=0',
      '-o',
      load.address,
      '--chunk-size',
      '64m',
      '--workers',
      '1',
      '--json',
    ]);
    const r = await load.done;
    expect(save.code, save.err).toBe(0);
    expect(r.code, r.err).toBe(0);
    expect(r.json.digest).toBe(save.json.digest);
    expect(r.json.peakInFlight).toBeLessThanOrEqual(budget);
  }, 60_000);
});
