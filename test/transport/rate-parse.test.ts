// One rate convention for every rate option (--max-bandwidth, plan's --link): bits with a lowercase b (decimal, as
// links are sold), bytes with B (decimal) or iB (binary), a bare number or a prefix alone in bytes (binary, as the
// size options), `unlimited` where a limit may be absent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRate } from '../../src/transport/rate-limit.ts';

const TABLE: [string, number][] = [
  ['10gbit', 1.25e9],
  ['10Gbit', 1.25e9],
  ['10gbit/s', 1.25e9],
  ['1gbps', 1.25e8],
  ['1Gbps', 1.25e8],
  ['100mb', 1.25e7],
  ['100Mb', 1.25e7],
  ['8bit', 1],
  ['800kbit', 1e5],
  ['100MB', 1e8],
  ['100mB', 1e8],
  ['100MB/s', 1e8],
  ['1.5GB', 1.5e9],
  ['100MiB', 100 * 2 ** 20],
  ['100mib', 100 * 2 ** 20],
  ['4KiB/s', 4096],
  ['100m', 100 * 2 ** 20],
  ['100M', 100 * 2 ** 20],
  ['64k', 65536],
  ['1g', 2 ** 30],
  ['1048576', 1048576],
  ['8e6', 8e6],
  [' 200m ', 200 * 2 ** 20],
  ['2t', 2 * 2 ** 40],
];

describe('parseRate', () => {
  it.each(TABLE)('%s is %d bytes/s', (text, bytes) => {
    expect(parseRate(text)).toBeCloseTo(bytes, 6);
  });

  it.each(['', 'fast', '10 gbits per second', '-5m', '0', '0gbit', '100iB', '10xb', '1e400', 'unlimited'])(
    'refuses %j with a usage error',
    (text) => {
      expect(() => parseRate(text, '--link')).toThrow(expect.objectContaining({ code: 'VFM_USAGE' }));
    },
  );

  it('reads unlimited as no limit where one may be absent', () => {
    for (const t of ['unlimited', 'UNLIMITED', 'inf', 'none']) {
      expect(parseRate(t, '--link', { allowUnlimited: true })).toBe(Number.POSITIVE_INFINITY);
    }
  });

  it('names the option and the convention in its message', () => {
    expect(() => parseRate('fast', '--max-bandwidth')).toThrow(/--max-bandwidth must be like 10gbit/);
  });

  it('property: any amount with any unit is the amount times the unit', () => {
    const units: [string, number][] = [
      ['', 1],
      ['k', 1024],
      ['m', 1024 ** 2],
      ['g', 1024 ** 3],
      ['kbit', 125],
      ['Mbit', 125e3],
      ['gbps', 125e6],
      ['Mb', 125e3],
      ['kB', 1e3],
      ['MB', 1e6],
      ['GB', 1e9],
      ['KiB', 1024],
      ['MiB', 1024 ** 2],
      ['GiB', 1024 ** 3],
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 99 }),
        fc.constantFrom(...units),
        fc.boolean(),
        (whole, cents, [unit, factor], perSecond) => {
          const amount = whole + cents / 100;
          const text = `${whole}${cents ? `.${String(cents).padStart(2, '0')}` : ''}${unit}${perSecond ? '/s' : ''}`;
          expect(parseRate(text)).toBeCloseTo(amount * factor, 3);
        },
      ),
    );
  });

  it('property: a lowercase b is eight times fewer bytes than a capital B', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom('k', 'm', 'g', 'K', 'M', 'G'), (n, p) => {
        expect(parseRate(`${n}${p}B`)).toBeCloseTo(8 * parseRate(`${n}${p}b`), 3);
      }),
    );
  });
});
