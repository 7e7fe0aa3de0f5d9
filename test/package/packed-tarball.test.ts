// The package as a user gets it: `npm pack`, installed into a fresh project. A CommonJS consumer can require() it
// (the library entry has no top-level await), the bin runs, and the tarball holds what the README and the source
// maps point at. Needs the build (`npm test` builds first) and the dependencies in npm's cache (after `npm ci`).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import process from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xxh64 } from '../../src/core/index.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'vfm-pack-'));
const consumer = join(work, 'consumer');
const installed = join(consumer, 'node_modules/vfio-migrate');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** npm under the pinned Node, as the rest of the suite runs. */
function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

beforeAll(() => {
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', work], ROOT).trim().split('\n').at(-1)!;
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  npm(['install', join(work, tarball), '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], consumer);
}, 120_000);

describe('the packed package', () => {
  it('loads with require() from CommonJS, and its API works', () => {
    writeFileSync(
      join(consumer, 'use.cjs'),
      `const m = require('vfio-migrate');
const err = new m.StreamCorruptError('bad', 7);
console.log(JSON.stringify({
  path: m.transitionPath(7, 2, 3),
  hash: m.xxh64(new Uint8Array([1, 2, 3])).toString(16),
  codes: m.ERROR_CODES.length,
  error: [err instanceof m.VfioMigrateError, err.code, err.offset],
  runCli: typeof m.runCli,
}));`,
    );
    const r = spawnSync(process.execPath, ['use.cjs'], { cwd: consumer, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      path: { ok: true, path: [5, 1, 3] },
      error: [true, 'VFM_STREAM_CORRUPT', 7],
      runCli: 'function',
    });
    expect(out.codes).toBeGreaterThan(50);
    // the packaged wasm core hashes as the source tree's does
    expect(out.hash).toBe(xxh64(new Uint8Array([1, 2, 3])).toString(16));
  });

  it('loads with import from ESM too', () => {
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('vfio-migrate'); console.log(typeof m.saveDevice)"],
      { cwd: consumer, encoding: 'utf8' },
    );
    expect(r).toMatchObject({ status: 0, stdout: 'function\n' });
  });

  it('installs a bin that runs', () => {
    const bin = join(consumer, 'node_modules/.bin/vfio-migrate');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const version = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(version).toMatchObject({ status: 0, stdout: `${pkg.version}\n` });
    const fsm = spawnSync(process.execPath, [bin, 'fsm', 'RUNNING', 'STOP', '--flags', 'stop-copy'], {
      encoding: 'utf8',
    });
    expect(fsm).toMatchObject({ status: 0, stdout: 'RUNNING -> STOP\n' });
  });

  it('runs the CLI from its bundle, whose device and codec threads start from beside it', () => {
    const files = walk(installed).map((f) => relative(installed, f));
    for (const entry of ['main', 'sim-worker', 'codec-worker', 'ffi-deno-io-worker']) {
      expect(files).toContain(`dist/bin/${entry}.js`);
    }
    const bin = join(consumer, 'node_modules/.bin/vfio-migrate');
    const file = join(work, 'bundle.vfm');
    for (const args of [
      ['save', '--device', 'sim:gpu,size=4m', '--workers', '2', '-o', file, '--json'],
      ['load', '--device', 'sim:gpu,size=4m', '--workers', '2', '-i', file, '--json'],
    ]) {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: args[0] });
    }
  });

  it('ships the license, what the README links to, and source maps that carry their sources', () => {
    const files = walk(installed).map((f) => relative(installed, f));
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\((?!https?:|#)([^)\s]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(files, link).toContain(link);
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(50);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(installed, map), 'utf8'));
      expect(sourcesContent?.length, map).toBe(sources.length);
      for (const content of sourcesContent) expect(typeof content, map).toBe('string');
    }
  });
});
