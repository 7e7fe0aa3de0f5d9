// The destination's page check: a page is accepted only when every byte is what (kind, seed, page, generation) makes,
// for every kind of page; one flipped bit anywhere, a page of another generation, or a short page is refused.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../../src/core/wasm-module.ts';
import { PageChecker, PageGenerator, PageMap } from '../../../src/device/sim/page-content.ts';
import { PAGE_SIZE, PageKind } from '../../../src/device/sim/profiles.ts';
import { referencePage } from './page-content-reference.ts';

const KINDS = [PageKind.ZERO, PageKind.RANDOM, PageKind.TEXTURE, PageKind.STRUCT];
/** Four pages of each kind, in kind order. */
const map = new PageMap(
  KINDS.map((kind, i) => ({ start: i * 4, end: i * 4 + 4, kind, hot: true })),
  KINDS.length * 4,
);

const pages = new PageGenerator();

function page(seed: number, index: number, gen: number): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE);
  pages.fill(out, 0, map.kindOf(index), seed, index, gen);
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  const i = a.findIndex((v, k) => v !== b[k]);
  return i === -1 ? Math.min(a.length, b.length) : i;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const arbPage = fc.record({
  seed: fc.integer({ min: 0, max: 0xffffffff }),
  index: fc.integer({ min: 0, max: map.pageCount - 1 }),
  gen: fc.integer({ min: 0, max: 1000 }),
});

describe('PageChecker', () => {
  const checker = new PageChecker(map);

  it('accepts each kind of page, at generation 0 and later, inside a larger buffer', () => {
    fc.assert(
      fc.property(arbPage, ({ seed, index, gen }) => {
        const within = new Uint8Array(PAGE_SIZE * 3);
        within.set(page(seed, index, gen), PAGE_SIZE);
        expect(checker.matches(within.subarray(PAGE_SIZE, 2 * PAGE_SIZE), seed, index, gen)).toBe(true);
        // in place, at its offset; the pages around it are zeros, which only a zero page at generation 0 matches
        expect(checker.matches(within, seed, index, gen, PAGE_SIZE)).toBe(true);
        const zeroAtStart = checker.matches(within, seed, index, gen, 0);
        expect(zeroAtStart).toBe(sameBytes(page(seed, index, gen), new Uint8Array(PAGE_SIZE)));
      }),
    );
  });

  it('refuses a page with one bit flipped anywhere', () => {
    fc.assert(
      fc.property(arbPage, fc.nat(PAGE_SIZE * 8 - 1), ({ seed, index, gen }, bit) => {
        const bytes = page(seed, index, gen);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        expect(checker.matches(bytes, seed, index, gen)).toBe(false);
      }),
    );
  });

  it('refuses a page of another generation or seed, and a short page', () => {
    for (const index of [0, 4, 8, 12]) {
      expect(checker.matches(page(7, index, 3), 7, index, 4)).toBe(false);
      expect(checker.matches(page(7, index, 3), 8, index, 3)).toBe(false);
      expect(checker.matches(page(7, index, 3).subarray(0, PAGE_SIZE - 1), 7, index, 3)).toBe(false);
      // a page that would run past the buffer's end, or start before it
      const two = new Uint8Array(PAGE_SIZE * 2);
      two.set(page(7, index, 3), PAGE_SIZE);
      expect(checker.matches(two, 7, index, 3, PAGE_SIZE)).toBe(true);
      expect(checker.matches(two, 7, index, 3, PAGE_SIZE + 1)).toBe(false);
      expect(checker.matches(two, 7, index, 3, -1)).toBe(false);
    }
  });
});

describe('PageGenerator', () => {
  const flavors = [
    ['SIMD', new PageGenerator(loadCore('simd'))],
    ['scalar', new PageGenerator(loadCore('scalar'))],
  ] as const;

  it.each(flavors)(
    '%s: makes the bytes it always made: a digest of every kind at three generations, pinned (saved states stay loadable)',
    (_, generator) => {
      const h = createHash('sha256');
      for (const kind of KINDS) {
        for (const gen of [0, 1, 77]) {
          for (const index of [0, 5, 123456]) h.update(generator.page(kind, 0x1234abcd, index, gen));
        }
      }
      expect(h.digest('hex')).toBe('1ab00fde5ea8b860c2cd31b65eaf92d865479c547fc3460bfa19d6c5e41ec2bf');
    },
  );

  it.each(flavors)(
    '%s: agrees with the plain JavaScript pages for any kind, seed, page and generation',
    (_, generator) => {
      fc.assert(
        fc.property(
          fc.constantFrom(...KINDS),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffffffff })),
          (kind, seed, index, gen) => {
            // the first differing byte, not a deep equality of 4 KiB (which cost seconds per hundred runs)
            const made = generator.page(kind, seed, index, gen);
            expect(firstDifference(made, referencePage(kind, seed, index, gen))).toBe(-1);
          },
        ),
        { numRuns: 400 },
      );
    },
  );

  it('at an offset, writes its page there and nothing around it, over whatever the buffer held', () => {
    for (const index of [0, 4, 8, 12]) {
      for (const gen of [0, 2]) {
        const bytes = new Uint8Array(PAGE_SIZE * 3).fill(0xa5);
        pages.fill(bytes, PAGE_SIZE, map.kindOf(index), 9, index, gen);
        expect(Buffer.from(bytes.subarray(PAGE_SIZE, 2 * PAGE_SIZE))).toEqual(
          Buffer.from(referencePage(map.kindOf(index), 9, index, gen)),
        );
        expect(bytes.subarray(0, PAGE_SIZE).every((b) => b === 0xa5)).toBe(true);
        expect(bytes.subarray(2 * PAGE_SIZE).every((b) => b === 0xa5)).toBe(true);
      }
    }
  });
});
