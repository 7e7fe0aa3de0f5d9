import { describe, expect, it } from 'vitest';
import { ALL_STATES, stateName, transitionPath, transitionTable } from '../../src/fsm/index.ts';
import { FLAG_SETS, modelPath, NAMES, shortestPaths } from './reference-model.ts';

// The combination transitions the kernel documents for a device with every feature (vfio_main.c, the comment above
// vfio_mig_get_next_state), transcribed as data: the independent ground truth for the all-features table.
const KERNEL_DOCUMENTED_ALL_FEATURES = `
PRE_COPY PRE_COPY_P2P STOP_COPY
PRE_COPY RUNNING RUNNING_P2P
PRE_COPY RUNNING RUNNING_P2P STOP
PRE_COPY RUNNING RUNNING_P2P STOP RESUMING
PRE_COPY_P2P RUNNING_P2P RUNNING
PRE_COPY_P2P RUNNING_P2P STOP
PRE_COPY_P2P RUNNING_P2P STOP RESUMING
RESUMING STOP RUNNING_P2P
RESUMING STOP RUNNING_P2P PRE_COPY_P2P
RESUMING STOP RUNNING_P2P RUNNING
RESUMING STOP RUNNING_P2P RUNNING PRE_COPY
RESUMING STOP STOP_COPY
RUNNING RUNNING_P2P PRE_COPY_P2P
RUNNING RUNNING_P2P STOP
RUNNING RUNNING_P2P STOP RESUMING
RUNNING RUNNING_P2P STOP STOP_COPY
RUNNING_P2P RUNNING PRE_COPY
RUNNING_P2P STOP RESUMING
RUNNING_P2P STOP STOP_COPY
STOP RUNNING_P2P PRE_COPY_P2P
STOP RUNNING_P2P RUNNING
STOP RUNNING_P2P RUNNING PRE_COPY
STOP_COPY STOP RESUMING
STOP_COPY STOP RUNNING_P2P
STOP_COPY STOP RUNNING_P2P RUNNING
`;

const flagLabel = (f: number) => ['stop-copy', f & 2 ? 'p2p' : '', f & 4 ? 'pre-copy' : ''].filter(Boolean).join(',');

describe('the kernel next-step table', () => {
  it('matches every multi-step path the kernel documents for a device with all features', () => {
    const lines = KERNEL_DOCUMENTED_ALL_FEATURES.trim().split('\n');
    expect(lines).toHaveLength(25);
    for (const line of lines) {
      const [from, ...steps] = line.trim().split(' ');
      const to = steps[steps.length - 1]!;
      const r = transitionPath(7, NAMES.indexOf(from!) as never, NAMES.indexOf(to) as never);
      expect(r.ok && r.path.map(stateName), `${from}>${to}`).toEqual(steps);
    }
  });

  for (const flags of FLAG_SETS) {
    it(`equals the independent shortest-path model for every pair with flags ${flagLabel(flags)}`, () => {
      const table = transitionTable(flags);
      expect(Object.keys(table.paths)).toHaveLength(64);
      for (const from of ALL_STATES) {
        for (const to of ALL_STATES) {
          const expected = modelPath(flags, from, to);
          const key = `${NAMES[from]}>${NAMES[to]}`;
          expect(table.paths[key], key).toEqual(expected === null ? null : expected.map((s) => NAMES[s]));
        }
      }
    });
  }

  it('has a unique shortest path wherever the kernel accepts a request, so the table leaves no choice open', () => {
    for (const flags of FLAG_SETS) {
      for (const from of ALL_STATES) {
        for (const to of ALL_STATES) {
          if (from === to || modelPath(flags, from, to) === null) continue;
          expect(shortestPaths(flags, from, to), `${flags} ${NAMES[from]}>${NAMES[to]}`).toHaveLength(1);
        }
      }
    }
  });

  it('refuses ERROR as source or target, unsupported states, and the blocked STOP_COPY to PRE_COPY requests', () => {
    expect(transitionPath(7, 0, 2)).toEqual({ ok: false, reason: 'error-source' });
    expect(transitionPath(7, 2, 0)).toEqual({ ok: false, reason: 'error-target' });
    expect(transitionPath(7, 0, 0)).toEqual({ ok: false, reason: 'error-source' });
    expect(transitionPath(1, 2, 5)).toEqual({ ok: false, reason: 'unsupported-target' });
    expect(transitionPath(3, 2, 6)).toEqual({ ok: false, reason: 'unsupported-target' });
    expect(transitionPath(5, 2, 7)).toEqual({ ok: false, reason: 'unsupported-target' });
    expect(transitionPath(1, 5, 2)).toEqual({ ok: false, reason: 'unsupported-source' });
    expect(transitionPath(7, 3, 6)).toEqual({ ok: false, reason: 'blocked' });
    expect(transitionPath(7, 3, 7)).toEqual({ ok: false, reason: 'blocked' });
    expect(transitionPath(5, 3, 6)).toEqual({ ok: false, reason: 'blocked' });
  });

  it('accepts cur == new with an empty path for every supported state', () => {
    for (const flags of FLAG_SETS) {
      for (const s of ALL_STATES.slice(1)) {
        const r = transitionPath(flags, s, s);
        expect(r.ok ? r.path : r.reason).toEqual(
          (s === 5 && !(flags & 2)) || (s === 6 && !(flags & 4)) || (s === 7 && flags !== 7)
            ? 'unsupported-source'
            : [],
        );
      }
    }
  });

  it('skips P2P states for a device without P2P (RUNNING to STOP directly)', () => {
    expect(transitionPath(1, 2, 1)).toEqual({ ok: true, path: [1] });
    expect(transitionPath(5, 6, 3)).toEqual({ ok: true, path: [3] });
    expect(transitionPath(5, 6, 1)).toEqual({ ok: true, path: [2, 1] });
  });
});
