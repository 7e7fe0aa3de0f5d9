import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SIM_PROFILES } from '../../../src/device/sim/profiles.ts';
import { formatSimSpec, parseSimSpec, parseSize } from '../../../src/device/sim/sim-spec.ts';
import { SimSpecKeyError } from '../../../src/errors.ts';

describe('sim spec', () => {
  it('parses sizes with binary units', () => {
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize('2g')).toBe(2 * 1024 ** 3);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('3 MB')).toBe(3 * 1024 ** 2);
    expect(parseSize('lots')).toBeNull();
  });

  it('resolves every key', () => {
    const c = parseSimSpec(
      'gpu,size=2g,seed=7,flags=stop-copy+p2p,dirty=8m/s,clock=manual,fail-arc=stop>stop-copy,fail-arc-mode=error,' +
        'fail-at=1m,stall-at=5,short-reads=1,corrupt-at=100,die-at=2k',
    );
    expect(c).toMatchObject({
      size: 2 * 1024 ** 3,
      pageCount: 524288,
      seed: 7,
      flags: 3,
      dirtyRate: 8 * 1024 ** 2,
      clock: 'manual',
    });
    expect(c.faults).toEqual({
      failArc: 'STOP>STOP_COPY',
      failArcMode: 'error',
      failAt: 1024 ** 2,
      stallAt: 5,
      shortReads: true,
      corruptAt: 100,
      dieAt: 2048,
    });
  });

  it.each([
    ['nope', 'profile'],
    ['nic,size=1000', 'size'],
    ['accel,size=64k', 'size'],
    ['nic,seed=-1', 'seed'],
    ['nic,flags=p2p', 'flags'],
    ['nic,flags=warp', 'flags'],
    ['nic,dirty=fast', 'dirty'],
    ['minimal,fail-arc=RUNNING>RUNNING_P2P', 'fail-arc'],
    ['nic,fail-arc=STOP', 'fail-arc'],
    ['nic,fail-at=soon', 'fail-at'],
    ['nic,short-reads=maybe', 'short-reads'],
    ['nic,colour=blue', 'colour'],
    ['nic,seed=1,seed=2', 'seed'],
    ['nic,size', 'size'],
  ])('%s is refused naming %s (VFM_DEVICE_SPEC)', (spec, key) => {
    let err: unknown;
    try {
      parseSimSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimSpecKeyError);
    expect(err).toMatchObject({ code: 'VFM_DEVICE_SPEC', key });
  });

  it('formats a canonical spec that parses back to the same configuration', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SIM_PROFILES.filter((p) => !p.fixedSize)),
        fc.integer({ min: 1, max: 4096 }),
        fc.nat(0xffffffff),
        fc.constantFrom('stop-copy', 'stop-copy+p2p', 'stop-copy+pre-copy', 'all'),
        fc.option(fc.nat(1 << 30), { nil: undefined }),
        (p, pages, seed, flags, corruptAt) => {
          const spec = `${p.name},size=${pages * 4}k,seed=${seed},flags=${flags}${corruptAt === undefined ? '' : `,corrupt-at=${corruptAt}`}`;
          const a = parseSimSpec(spec);
          const b = parseSimSpec(formatSimSpec(a).slice(4));
          expect(b).toEqual(a);
        },
      ),
    );
  });
});
