import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArcFailedError, TransitionRejectedError } from '../../src/errors.ts';
import {
  type DeviceState,
  isSavingState,
  stateName,
  stepTransition,
  supportsState,
  transitionPath,
} from '../../src/fsm/index.ts';
import { FLAG_SETS, modelArcs, shortestPaths } from './reference-model.ts';

const flagsArb = fc.constantFrom(...FLAG_SETS);
const stateArb = fc.integer({ min: 0, max: 7 }) as fc.Arbitrary<DeviceState>;

describe('every accepted transition path', () => {
  it('uses only allowed single arcs, ends at the target, avoids ERROR, unsupported and interior saving states, and is shortest', () => {
    fc.assert(
      fc.property(flagsArb, stateArb, stateArb, (flags, from, to) => {
        const r = transitionPath(flags, from, to);
        if (!r.ok) return;
        const arcs = modelArcs(flags);
        let cur = from;
        for (const [i, next] of r.path.entries()) {
          expect(arcs.has(`${stateName(cur)}>${stateName(next)}`)).toBe(true);
          expect(next).not.toBe(0);
          expect(supportsState(flags, next)).toBe(true);
          const interior = i < r.path.length - 1;
          if (interior && isSavingState(next)) {
            // only a move inside the saving group that keeps the one session (e.g. PRE_COPY, PRE_COPY_P2P, STOP_COPY)
            expect(isSavingState(from) && isSavingState(to) && r.path.every(isSavingState)).toBe(true);
          }
          cur = next;
        }
        expect(cur).toBe(to);
        if (from !== to) expect(r.path.length).toBe(shortestPaths(flags, from, to)[0]!.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('stepTransition (the device-facing helper)', () => {
  it('calls exactly the arcs of the path, in order, and nothing for a refused request', async () => {
    await fc.assert(
      fc.asyncProperty(flagsArb, stateArb, stateArb, async (flags, from, to) => {
        const calls: string[] = [];
        const arc = async (a: DeviceState, b: DeviceState) => {
          calls.push(`${a}>${b}`);
          return b;
        };
        const r = transitionPath(flags, from, to);
        if (!r.ok) {
          await expect(stepTransition({ flags, from, to, arc })).rejects.toBeInstanceOf(TransitionRejectedError);
          expect(calls).toEqual([]);
          return;
        }
        const steps = await stepTransition({ flags, from, to, arc });
        const expected = r.path.map((s, i) => `${i === 0 ? from : r.path[i - 1]}>${s}`);
        expect(calls).toEqual(expected);
        expect(steps.map((s) => s.result)).toEqual(r.path);
      }),
      { numRuns: 500 },
    );
  });

  it('stops at the first failing arc and reports where the device is, without unwinding', async () => {
    await fc.assert(
      fc.asyncProperty(flagsArb, stateArb, stateArb, fc.nat(), async (flags, from, to, pick) => {
        const r = transitionPath(flags, from, to);
        if (!r.ok || r.path.length === 0) return;
        const failAt = pick % r.path.length;
        const calls: string[] = [];
        let device: DeviceState = from;
        const arc = async (a: DeviceState, b: DeviceState) => {
          calls.push(`${stateName(a)}>${stateName(b)}`);
          if (calls.length - 1 === failAt) throw new Error('injected');
          device = b;
          return b;
        };
        const err = await stepTransition({ flags, from, to, arc, readState: async () => device }).catch((e) => e);
        expect(err).toBeInstanceOf(ArcFailedError);
        expect(calls).toHaveLength(failAt + 1);
        expect(err.completed).toEqual(calls.slice(0, failAt));
        expect(err.state).toBe(stateName(device));
        expect(err.state).toBe(stateName(failAt === 0 ? from : r.path[failAt - 1]!));
        expect(err.cause.message).toBe('injected');
      }),
      { numRuns: 300 },
    );
  });

  it('reports ERROR when the device cannot even say where it is after a failed arc', async () => {
    const err = await stepTransition({
      flags: 7,
      from: 2,
      to: 3,
      arc: async () => {
        throw new Error('EIO');
      },
      readState: async () => {
        throw new Error('gone');
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ArcFailedError);
    expect(err.state).toBe('ERROR');
  });

  it('stops between arcs when aborted', async () => {
    const ac = new AbortController();
    const calls: string[] = [];
    const err = await stepTransition({
      flags: 7,
      from: 2,
      to: 3,
      signal: ac.signal,
      arc: async (a, b) => {
        calls.push(`${a}>${b}`);
        ac.abort();
        return b;
      },
    }).catch((e) => e);
    expect(err.code).toBe('VFM_ABORTED');
    expect(calls).toEqual(['2>5']);
  });
});
