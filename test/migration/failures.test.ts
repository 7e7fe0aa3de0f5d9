// Every way a live migration can fail, at every phase, ends the same way: the source devices back in RUNNING (or
// reset where stepping is impossible), the destination devices reset (never started, holding their power-on state),
// and an error that says what failed, in which phase, and where every device is now. A refused handshake changes no
// state anywhere. The one exception is told apart: once the destination was told to go and the source never heard
// it started, the source stays stopped (in doubt) rather than risk two running copies.
import { describe, expect, it } from 'vitest';
import { VfioMigrateError } from '../../src/errors.ts';
import { type Ends, freshDigests, prepareEnds } from './helpers.ts';

/** Both ends failed; the source runs, the destination holds its power-on state and never started. */
async function expectRolledBack(ends: Ends, settled: PromiseSettledResult<unknown>[], toSpecs: string[]) {
  const [s, d] = settled as [PromiseRejectedResult, PromiseRejectedResult];
  expect(s.status, 'the source fails').toBe('rejected');
  expect(d.status, 'the destination fails').toBe('rejected');
  expect(s.reason).toBeInstanceOf(VfioMigrateError);
  expect(d.reason).toBeInstanceOf(VfioMigrateError);
  expect(
    ends.source.states.every((x) => x === 'RUNNING'),
    `source ${ends.source.states}`,
  ).toBe(true);
  expect(
    ends.destination.states.every((x) => x === 'RUNNING'),
    `destination ${ends.destination.states}`,
  ).toBe(true);
  expect(await ends.destination.stateDigests()).toEqual(await freshDigests(toSpecs));
  // the destination never started a device it loaded: no arc out of STOP towards running
  const started = ends.arcs.filter((a) => a.side === 'destination' && a.from === 'STOP' && a.to !== 'RESUMING');
  expect(started).toEqual([]);
  expect(s.reason.migration?.sourceStates).toEqual(ends.source.states);
  expect(d.reason.migration?.destinationStates).toEqual(ends.destination.states);
  return { source: s.reason as VfioMigrateError, destination: d.reason as VfioMigrateError };
}

const NIC = ['sim:nic,size=8m'];
const NIC_DST = ['sim:nic,size=8m,dirty=0'];

describe('a refused handshake changes no state on either side', () => {
  for (const c of [
    {
      name: 'another profile',
      from: ['sim:nic,size=8m'],
      to: ['sim:gpu,size=8m'],
      why: /profile "nic" on the source, "gpu"/,
    },
    { name: 'another size', from: ['sim:nic,size=8m'], to: ['sim:nic,size=4m'], why: /size "8388608"/ },
    {
      name: 'a count that differs',
      from: ['sim:nic,size=4m', 'sim:nic,size=4m,seed=2'],
      to: ['sim:nic,size=4m'],
      why: /2 device\(s\), the destination has 1/,
    },
    {
      name: 'flags it cannot honour',
      from: ['sim:nic,size=4m'],
      to: ['sim:nic,size=4m,flags=stop-copy+p2p'],
      why: /uses pre-copy, which .* does not support/,
    },
  ]) {
    it(`${c.name}: VFM_MIGRATION_REFUSED on both ends, every reason listed, no arc anywhere`, async () => {
      const ends = await prepareEnds(c.from, c.to);
      try {
        const [s, d] = await ends.run();
        expect(s).toMatchObject({ status: 'rejected', reason: { code: 'VFM_MIGRATION_REFUSED' } });
        expect(d).toMatchObject({ status: 'rejected', reason: { code: 'VFM_MIGRATION_REFUSED' } });
        expect((s as PromiseRejectedResult).reason.message).toMatch(c.why);
        expect((d as PromiseRejectedResult).reason.mismatches.join('; ')).toMatch(c.why);
        expect(ends.arcs).toEqual([]);
        expect([...ends.source.states, ...ends.destination.states].every((x) => x === 'RUNNING')).toBe(true);
      } finally {
        await ends.close();
      }
    });
  }
});

describe('failures during the migration roll both ends back', () => {
  const cases: {
    name: string;
    from?: string[];
    to?: string[];
    source?: NonNullable<Parameters<typeof prepareEnds>[2]>['source'];
    destination?: NonNullable<Parameters<typeof prepareEnds>[2]>['destination'];
    /** What to do when a phase starts on a side. */
    at?: { side: 'source' | 'destination'; phase: string; act: (ends: Ends) => void };
    /** Run the ends through a TCP proxy (to cut the connection). */
    proxy?: boolean;
    phase: RegExp;
    code: RegExp;
  }[] = [
    {
      name: 'a source device fails its data session in a pre-copy round',
      from: ['sim:nic,size=8m,fail-at=3000000'],
      phase: /precopy/,
      code: /VFM_VFIO_DATA_IO/,
    },
    {
      name: 'a destination device dies in pre-copy',
      to: ['sim:nic,size=8m,dirty=0,die-at=3000000'],
      phase: /precopy/,
      code: /VFM_DEVICE_GONE|VFM_PEER_FAILED/,
    },
    {
      name: 'a destination device stalls before taking the initial data (no switchover acknowledgement)',
      to: ['sim:nic,size=8m,dirty=0,stall-at=3000000'],
      source: { idleMs: 1500 },
      destination: { idleMs: 1500 },
      phase: /precopy|switchover/,
      code: /VFM_DEVICE_STALLED|VFM_PEER_STALLED|VFM_PEER_FAILED/,
    },
    {
      name: 'a P2P arc fails while quiescing',
      from: ['sim:nic,size=8m,fail-arc=PRE_COPY>PRE_COPY_P2P'],
      phase: /quiesce/,
      code: /VFM_DEVICE_SET_TRANSITION/,
    },
    {
      name: 'the stop arc fails (the device goes to ERROR)',
      from: ['sim:nic,size=8m,fail-arc=PRE_COPY_P2P>STOP_COPY,fail-arc-mode=error'],
      phase: /stop|quiesce/,
      code: /VFM_DEVICE_SET_TRANSITION/,
    },
    {
      name: 'the source device dies in the final transfer',
      from: ['sim:nic,size=8m,die-at=1000000'],
      source: { precopy: false },
      phase: /final-transfer/,
      code: /VFM_DATA_END_UNCONFIRMED|VFM_DEVICE_GONE/,
    },
    {
      name: 'a destination device refuses its state (RESUMING -> STOP)',
      to: ['sim:nic,size=8m,dirty=0,fail-arc=RESUMING>STOP'],
      phase: /destination-finish/,
      code: /VFM_PEER_FAILED|VFM_ARC_FAILED/,
    },
    {
      name: 'a destination device fails to start after go',
      to: ['sim:nic,size=8m,dirty=0,fail-arc=STOP>RUNNING_P2P'],
      phase: /final-ack|destination-start/,
      code: /VFM_PEER_FAILED|VFM_DEVICE_SET_TRANSITION/,
    },
    {
      name: 'the connection drops mid pre-copy',
      // at the first pre-copy bytes the source reports: mid pre-copy however fast the migration runs
      at: {
        side: 'source',
        phase: 'precopy',
        act: (e) => {
          let cut = false;
          e.src.on('progress', () => {
            if (!cut) {
              cut = true;
              e.proxy!.cut();
            }
          });
        },
      },
      proxy: true,
      phase: /precopy|switchover/,
      code: /VFM_CONNECTION_LOST|VFM_PEER_STALLED/,
    },
    {
      name: 'the source is aborted in pre-copy',
      at: { side: 'source', phase: 'precopy', act: () => sourceAbort.abort(new Error('operator')) },
      phase: /precopy/,
      code: /VFM_ABORTED|VFM_PEER_FAILED/,
    },
    {
      name: 'the source is aborted during the final transfer',
      source: { precopy: false },
      at: { side: 'source', phase: 'final-transfer', act: () => sourceAbort.abort(new Error('operator')) },
      phase: /final-transfer/,
      code: /VFM_ABORTED|VFM_PEER_FAILED/,
    },
    {
      name: 'the destination is aborted in pre-copy',
      at: { side: 'destination', phase: 'precopy', act: () => destinationAbort.abort(new Error('operator')) },
      phase: /setup|precopy/,
      code: /VFM_ABORTED|VFM_PEER_FAILED/,
    },
  ];
  let sourceAbort = new AbortController();
  let destinationAbort = new AbortController();

  for (const c of cases) {
    it(`${c.name}: the source runs again, the destination is reset`, async () => {
      sourceAbort = new AbortController();
      destinationAbort = new AbortController();
      const to = c.to ?? NIC_DST;
      const ends = await prepareEnds(c.from ?? NIC, to, {
        source: { signal: sourceAbort.signal, ...c.source },
        destination: { signal: destinationAbort.signal, ...c.destination },
        proxy: c.proxy ?? false,
      });
      if (c.at) {
        const m = c.at.side === 'source' ? ends.src : ends.dst;
        let done = false;
        m.on('phase', ({ phase }) => {
          if (!done && phase === c.at!.phase) {
            done = true;
            c.at!.act(ends);
          }
        });
      }
      try {
        const settled = await ends.run();
        const { source, destination } = await expectRolledBack(ends, settled, to);
        expect(source.code).toMatch(c.code);
        expect(source.migration?.phase).toMatch(c.phase);
        expect(destination.migration).toBeDefined();
      } finally {
        await ends.close();
      }
    }, 30_000);
  }
});

describe('the window after go', () => {
  it('the source told go and never heard started: it stays stopped (in doubt); the destination runs the devices', async () => {
    const abort = new AbortController();
    const ends = await prepareEnds(NIC, NIC_DST, { source: { signal: abort.signal } });
    ends.src.on('phase', ({ phase }) => {
      if (phase === 'final-ack') abort.abort(new Error('the source host lost its link'));
    });
    try {
      const [s, d] = await ends.run();
      expect(s).toMatchObject({ status: 'rejected', reason: { code: 'VFM_MIGRATION_IN_DOUBT' } });
      expect((s as PromiseRejectedResult).reason.message).toMatch(/recover/);
      expect(ends.source.states).toEqual(['STOP']);
      // the destination got go before the source gave up: it started, and owns the devices
      expect(d.status).toBe('fulfilled');
      expect(ends.destination.states).toEqual(['RUNNING']);
    } finally {
      await ends.close();
    }
  });
});
