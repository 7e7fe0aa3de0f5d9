// The README's live-migration API example, taken from the README itself and run as written (only the package name
// points at this checkout): what a user copies must run, migrate both ways and print what the comments promise.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'vfm-readme-migration-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readmeBlock(heading: string): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  expect(at, `README has "${heading}"`).toBeGreaterThan(0);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block).not.toBeNull();
  return block![1]!;
}

it('runs the README live-migration example: both migrations finish, the destination devices run', async () => {
  const code = readmeBlock('### Live migration API').replaceAll(
    "from 'vfio-migrate'",
    `from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)}`,
  );
  const file = join(dir, 'example.ts');
  writeFileSync(file, code);
  const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 120_000 });
  const lines = stdout.trim().split('\n');
  expect(lines.some((l) => /^round 1: \d+ B, \d+ ms$/.test(l))).toBe(true);
  expect(lines.some((l) => l.startsWith('pause the vCPUs now; devices are [ '))).toBe(true);
  expect(lines.some((l) => l.startsWith('traced {'))).toBe(true);
  expect(lines.at(-1)).toMatch(/^\d+(\.\d+)? true RUNNING$/);
}, 150_000);
