// The `ErrorCode` union callers switch on cannot drift from the error classes: every exported error class carries a
// listed code, every listed code has a class, and the README's error table documents every code. A class added
// without its code (or a code left behind by a removed class) fails here, whichever branch it came from.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.ts';
import { ERROR_CODES, type ErrorCode, VfioMigrateError } from '../../src/index.ts';

/**
 * A stand-in for any constructor argument: every property and call result is another stand-in, and it reads as
 * 'x' in strings. Error classes take messages, info objects and numbers; this lets the test build each one without
 * knowing its signature, so a class added later is checked too.
 */
function anyArgument(): unknown {
  const stand: unknown = new Proxy(() => {}, {
    get: (_target, key) => {
      if (key === Symbol.toPrimitive) return () => 'x';
      if (key === Symbol.iterator) return function* () {};
      return stand;
    },
    apply: () => stand,
  });
  return stand;
}

type ErrorClass = new (...args: unknown[]) => VfioMigrateError;

const errorClasses = (Object.entries(api) as [string, unknown][]).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === 'function' && (entry[1] === VfioMigrateError || entry[1].prototype instanceof VfioMigrateError),
);

function codeOf(cls: ErrorClass): string {
  return new cls(anyArgument(), anyArgument(), anyArgument(), anyArgument(), anyArgument()).code;
}

describe('error codes', () => {
  it('finds the exported error classes (the check below is not vacuous)', () => {
    expect(errorClasses.length).toBeGreaterThan(50);
    expect(errorClasses.map(([name]) => name)).toContain('StreamCorruptError');
  });

  it.each(errorClasses)('%s carries a code listed in ERROR_CODES', (_name, cls) => {
    expect(ERROR_CODES).toContain(codeOf(cls));
  });

  it('lists every code once, and each listed code belongs to an exported class', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    const used = new Set(errorClasses.map(([, cls]) => codeOf(cls)));
    expect(ERROR_CODES.filter((code) => !used.has(code))).toEqual([]);
  });

  it('is documented: the README error table names every code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## Development'));
    const undocumented = ERROR_CODES.filter((code: ErrorCode) => !table.includes(`\`${code}\``));
    expect(undocumented).toEqual([]);
  });
});
