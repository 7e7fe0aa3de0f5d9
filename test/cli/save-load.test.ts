import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.ts';
import { runCli } from '../../src/cli/run-cli.ts';
import { makeTlsFixture, type TlsFixture } from '../transport/tls-fixtures.ts';

interface Run {
  code: number;
  out: string;
  err: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed --json output, probed field by field in assertions
  json(): Record<string, any>;
}

function io(onErr?: (text: string) => void): CliIo & { outText: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => {
      err += t;
      onErr?.(t);
    },
    errIsTTY: false,
    env: {},
    signal: new AbortController().signal,
    outText: () => out,
    errText: () => err,
  };
}

async function cli(argv: string[], onErr?: (text: string) => void): Promise<Run> {
  const i = io(onErr);
  const code = await runCli(argv, i);
  const out = i.outText();
  return { code, out, err: i.errText(), json: () => JSON.parse(out.trim().split('\n').at(-1)!) };
}

/** Starts `load` listening on a free port/path and resolves with its address and its completion. */
async function listeningLoad(argv: string[]) {
  let resolveAddr!: (a: string) => void;
  const address = new Promise<string>((r) => (resolveAddr = r));
  const done = cli(['load', ...argv, '--json'], (text) => {
    const m = /"event":"listening","address":"([^"]+)"/.exec(text);
    if (m) resolveAddr(m[1]!);
  });
  return { address: await Promise.race([address, done.then((r) => Promise.reject(new Error(r.err)))]), done };
}

const DEV = 'sim:nic,size=2m';
let dir: string;
let tlsFx: TlsFixture;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfm-cli-'));
  tlsFx = makeTlsFixture();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(tlsFx.dir, { recursive: true, force: true });
});

describe('vfio-migrate save / load', () => {
  for (const codec of ['lz4', 'zstd', 'none']) {
    for (const chunking of ['fixed', 'cdc']) {
      it(`round-trips a simulated device through a file with ${codec}/${chunking}`, async () => {
        const file = join(dir, `${codec}-${chunking}.vfm`);
        const save = await cli([
          'save',
          '--device',
          DEV,
          '-o',
          file,
          '--codec',
          codec,
          '--chunking',
          chunking,
          '--chunk-size',
          chunking === 'cdc' ? '64k' : '256k',
          '--workers',
          '1',
          '--json',
        ]);
        expect(save.code, save.err).toBe(0);
        const s = save.json();
        expect(s).toMatchObject({ ok: true, codec, finalState: 'RUNNING' });
        expect(s.digest).toMatch(/^[0-9a-f]{16,}$/);
        expect(s.wireBytes).toBe(readFileSync(file).length);
        const load = await cli(['load', '--device', DEV, '-i', file, '--workers', '1', '--json']);
        expect(load.code, load.err).toBe(0);
        const l = load.json();
        expect(l).toMatchObject({ ok: true, verified: true, bytes: s.bytes, finalState: 'RUNNING' });
        expect(l.digest).toBe(s.digest);
      });
    }
  }

  const transports: Array<[string, string, string[], string[]]> = [
    ['TCP', 'tcp://:0', [], []],
    ['a UNIX socket', 'unix:SOCK', [], []],
    ['TLS with certificates', 'tls://127.0.0.1:0', ['--tls-cert', 'CERT', '--tls-key', 'KEY'], ['--tls-ca', 'CA']],
    ['TLS with a pre-shared key', 'tls://127.0.0.1:0', ['--psk-file', 'PSK'], ['--psk-file', 'PSK']],
  ];
  for (const [name, spec, loadArgs, saveArgs] of transports) {
    it(`migrates a simulated device over ${name}`, async () => {
      const psk = join(dir, 'psk.hex');
      writeFileSync(psk, randomBytes(32).toString('hex'));
      const fill = (a: string[]) =>
        a.map((x) => ({ CERT: tlsFx.certFile, KEY: tlsFx.keyFile, CA: tlsFx.caFile, PSK: psk })[x] ?? x);
      const listenSpec = spec.replace('SOCK', join(dir, `${Math.random().toString(36).slice(2)}.sock`));
      const { address, done } = await listeningLoad([
        '--device',
        DEV,
        '-i',
        listenSpec,
        '--workers',
        '1',
        ...fill(loadArgs),
      ]);
      const save = await cli([
        'save',
        '--device',
        DEV,
        '-o',
        address,
        '--codec',
        'zstd',
        '--workers',
        '1',
        '--json',
        ...fill(saveArgs),
      ]);
      expect(save.code, save.err).toBe(0);
      const load = await done;
      expect(load.code, load.err).toBe(0);
      expect(load.json().digest).toBe(save.json().digest);
    });
  }

  it('migrates through stdout and stdin of two processes (a pipe)', () => {
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    const r = spawnSync(
      'sh',
      [
        '-c',
        `node "${main}" save --device ${DEV} -o - --workers 1 --json | node "${main}" load --device ${DEV} -i - --workers 1 --json`,
      ],
      { encoding: 'utf8', env: process.env, timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const saved = r.stderr.split('\n').find((l) => l.startsWith('{"ok":true,"command":"save"'));
    expect(saved).toBeDefined();
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ ok: true, command: 'load', digest: JSON.parse(saved!).digest });
  });

  it('refuses a corrupted stream with the code and offset, and exits non-zero', async () => {
    const file = join(dir, 'corrupt.vfm');
    // Stored blocks (codec none): every byte past the framing is the device's, so the flip changes the data. In an
    // LZ4 stream a flip can be one the encoding absorbs (a match offset's high byte moved into equally repetitive
    // bytes decodes to the very same data, every checksum agreeing): harmless, and no corruption to detect.
    expect((await cli(['save', '--device', DEV, '-o', file, '--workers', '0', '--codec', 'none'])).code).toBe(0);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 1;
    writeFileSync(file, bytes);
    const load = await cli(['load', '--device', DEV, '-i', file, '--workers', '0', '--json']);
    expect(load.code).toBe(1);
    const j = load.json();
    expect(j.ok).toBe(false);
    expect(j.error.code).toMatch(/^VFM_STREAM_/);
    expect(typeof j.error.offset).toBe('number');
    expect(load.err).toContain(j.error.code);
  });

  it('refuses a foreign file before touching the device', async () => {
    const file = join(dir, 'foreign.bin');
    writeFileSync(file, randomBytes(100_000));
    const load = await cli(['load', '--device', DEV, '-i', file, '--json']);
    expect(load.code).toBe(1);
    expect(load.json().error.code).toMatch(/^VFM_STREAM_/);
  });

  it('refuses a stream saved from another device profile unless forced', async () => {
    const file = join(dir, 'gpu.vfm');
    expect((await cli(['save', '--device', 'sim:gpu,size=1m', '-o', file, '--workers', '0'])).code).toBe(0);
    const load = await cli(['load', '--device', DEV, '-i', file, '--json']);
    expect(load.code).toBe(1);
    expect(load.json().error).toMatchObject({ code: 'VFM_STREAM_DEVICE_MISMATCH', field: 'profile' });
  });

  it('leaves no output file when the source device fails mid-save, and reports the device error', async () => {
    const file = join(dir, 'failed.vfm');
    const save = await cli(['save', '--device', `${DEV},fail-at=500000`, '-o', file, '--workers', '0', '--json']);
    expect(save.code).toBe(1);
    expect(save.json().ok).toBe(false);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('exits 2 with usage on bad options', async () => {
    expect((await cli(['save'])).code).toBe(2);
    expect((await cli(['save', '-o', 'x', '--codec', 'gzip'])).code).toBe(2);
    expect((await cli(['load', '-i', 'x', '--budget', 'lots'])).code).toBe(2);
  });

  it('fails the sender cleanly when nobody listens', async () => {
    const save = await cli([
      'save',
      '--device',
      DEV,
      '-o',
      `unix:${join(dir, 'nobody.sock')}`,
      '--connect-timeout',
      '1',
      '--json',
    ]);
    expect(save.code).toBe(1);
    expect(save.json().error.code).toBe('VFM_CONNECT_FAILED');
  });
});
