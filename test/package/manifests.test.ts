// deno.json (the JSR package) says what package.json says: name's package part, version, license, the entry, and
// the same dependency ranges in its import map, so the npm and JSR packages cannot drift apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'));
const pkg = read('package.json');
const deno = read('deno.json');

describe('the JSR manifest', () => {
  it('matches package.json: name, version, license', () => {
    expect(deno.name).toBe(`@${pkg.name}/${pkg.name}`);
    expect(deno.version).toBe(pkg.version);
    expect(deno.license).toBe(pkg.license);
  });

  it('exports the library entry whose build is the npm entry', () => {
    expect(deno.exports).toEqual({ '.': './src/index.ts' });
    expect(pkg.exports['.'].default).toBe('./dist/index.js');
  });

  it('maps every runtime dependency to npm with the range package.json asks for', () => {
    const runtime = { ...pkg.dependencies, ...pkg.optionalDependencies } as Record<string, string>;
    expect(Object.keys(deno.imports).sort()).toEqual(Object.keys(runtime).sort());
    for (const [name, range] of Object.entries(runtime)) expect(deno.imports[name]).toBe(`npm:${name}@${range}`);
  });

  it('publishes the generated wasm module, which .gitignore keeps out of git', () => {
    expect(deno.publish.exclude).toContain('!src/core/generated/');
    expect(readFileSync(new URL('../../.gitignore', import.meta.url), 'utf8')).toContain('src/core/generated/');
  });
});
