// Live migrations of every simulated profile, and of device sets, in one process over a real loopback connection:
// the destination ends with the source's exact state (equal digests) and the arcs of both ends, in one log, keep the
// P2P order: every P2P source device quiesced before any device stops, every destination device validated before
// any starts, every P2P destination device in RUNNING_P2P before any runs.
import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { prepare, where } from './helpers.ts';

const PROFILES = [
  { name: 'nic (pre-copy, P2P, dirtying)', spec: 'sim:nic,size=8m', precopy: true },
  { name: 'gpu (pre-copy, no P2P)', spec: 'sim:gpu,size=32m,dirty=8m/s', precopy: true },
  { name: 'minimal (STOP_COPY only)', spec: 'sim:minimal', precopy: false },
  { name: 'accel (pre-copy, fixed size)', spec: 'sim:accel', precopy: true },
];

describe('one device', () => {
  for (const p of PROFILES) {
    for (const precopy of [true, false]) {
      it(`${p.name}${precopy ? '' : ', --no-precopy'}: the destination holds the source's state`, async () => {
        const run = await prepare([p.spec], [p.spec], { precopy });
        try {
          const r = await run.migration.start();
          expect(r.source.devices[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
          expect(r.destination.devices[0]!.digest).toBe(r.source.devices[0]!.digest);
          expect(r.source.peerDigests[0]).toBe(r.source.devices[0]!.digest);
          expect(r.source.convergence.precopy).toBe(precopy && p.precopy);
          if (!(precopy && p.precopy)) expect(r.source.rounds).toEqual([]);
          else expect(r.source.rounds.length).toBeGreaterThan(0);
          expect(r.downtimeMs).toBeGreaterThan(0);
          expect(r.source.downtimeUpperBound).toBe(false);
          expect(run.source.states).toEqual(['STOP']);
          expect(run.destination.states).toEqual(['RUNNING']);
          expect(r.source.bytes).toBe(r.destination.bytes);
          const b = r.source.breakdown!;
          const parts = b.quiesceMs + b.hookMs + b.stopMs + b.finalTransferMs + b.destinationFinishMs;
          expect(parts + b.destinationStartMs + b.ackMs).toBeCloseTo(r.downtimeMs, 3);
        } finally {
          await run.close();
        }
      });
    }
  }
});

describe('device sets', () => {
  it('two P2P NICs: both quiesced before either stops; both validated, then both in RUNNING_P2P before either runs', async () => {
    const specs = ['sim:nic,size=4m', 'sim:nic,size=4m,seed=2'];
    const run = await prepare(specs);
    try {
      const r = await run.migration.start();
      expect(r.destination.devices.map((d) => d.digest)).toEqual(r.source.devices.map((d) => d.digest));
      const sw = run.phases.find((p) => p.side === 'source' && p.phase === 'switchover')!.at;
      const src = run.arcs.filter((a) => a.side === 'source' && a.at >= sw);
      const quiesced = where(src, (a) => a.to === 'PRE_COPY_P2P' || a.to === 'RUNNING_P2P');
      const stopping = where(src, (a) => a.to === 'STOP' || a.to === 'STOP_COPY');
      expect(quiesced).toHaveLength(2);
      expect(Math.max(...quiesced)).toBeLessThan(Math.min(...stopping));
      const dst = run.arcs.filter((a) => a.side === 'destination');
      const validated = where(dst, (a) => a.from === 'RESUMING' && a.to === 'STOP');
      const p2p = where(dst, (a) => a.from === 'STOP' && a.to === 'RUNNING_P2P');
      const running = where(dst, (a) => a.to === 'RUNNING');
      expect(validated).toHaveLength(2);
      expect(p2p).toHaveLength(2);
      expect(Math.max(...validated)).toBeLessThan(Math.min(...p2p));
      expect(Math.max(...p2p)).toBeLessThan(Math.min(...running));
    } finally {
      await run.close();
    }
  });

  it('a mixed set (a P2P NIC and a GPU without P2P): the GPU stops only after the NIC is quiesced and starts only once it answers', async () => {
    const specs = ['sim:nic,size=4m', 'sim:gpu,size=16m,dirty=4m/s'];
    const run = await prepare(specs);
    try {
      const r = await run.migration.start();
      expect(r.destination.devices.map((d) => d.digest)).toEqual(r.source.devices.map((d) => d.digest));
      const sw = run.phases.find((p) => p.side === 'source' && p.phase === 'switchover')!.at;
      const src = run.arcs.filter((a) => a.side === 'source' && a.at >= sw);
      const nicQuiesced = where(src, (a) => a.device === 0 && a.to === 'PRE_COPY_P2P');
      const gpuStopped = where(src, (a) => a.device === 1 && a.to === 'STOP_COPY');
      expect(nicQuiesced).toHaveLength(1);
      expect(nicQuiesced[0]!).toBeLessThan(gpuStopped[0]!);
      const dst = run.arcs.filter((a) => a.side === 'destination');
      const nicAnswers = where(dst, (a) => a.device === 0 && a.to === 'RUNNING_P2P');
      const gpuRuns = where(dst, (a) => a.device === 1 && a.to === 'RUNNING');
      expect(nicAnswers[0]!).toBeLessThan(gpuRuns[0]!);
    } finally {
      await run.close();
    }
  });

  it('moves the devices of a set in parallel, one stream each', async () => {
    const specs = ['sim:gpu,size=16m,dirty=0', 'sim:gpu,size=16m,dirty=0,seed=2', 'sim:gpu,size=16m,dirty=0,seed=3'];
    const run = await prepare(specs, specs, { precopy: false, workers: 3 });
    try {
      const r = await run.migration.start();
      expect(r.destination.devices.map((d) => d.digest)).toEqual(r.source.devices.map((d) => d.digest));
      // every destination device was in RESUMING at once: the streams were not moved one after another
      const dst = run.arcs.filter((a) => a.side === 'destination');
      const entered = where(dst, (a) => a.to === 'RESUMING').map((i) => dst[i]!.at);
      const left = where(dst, (a) => a.from === 'RESUMING').map((i) => dst[i]!.at);
      expect(Math.max(...entered)).toBeLessThan(Math.min(...left));
    } finally {
      await run.close();
    }
  });
});

describe('hooks, events and tracing', () => {
  it('runs beforeStop after every P2P device is quiesced and before any stops, and counts it in the downtime', async () => {
    const seen: string[][] = [];
    const run = await prepare(['sim:nic,size=4m', 'sim:gpu,size=8m'], undefined, {
      beforeStop: async ({ states }) => {
        seen.push(states);
        await new Promise((r) => setTimeout(r, 50)); // a VMM pausing its vCPUs
      },
    });
    try {
      const r = await run.migration.start();
      expect(seen).toEqual([['PRE_COPY_P2P', 'PRE_COPY']]);
      expect(r.source.breakdown!.hookMs).toBeGreaterThanOrEqual(45);
      expect(r.downtimeMs).toBeGreaterThanOrEqual(r.source.breakdown!.hookMs);
    } finally {
      await run.close();
    }
  });

  it('manual switchover: reports when ready, keeps pre-copying, and goes when told', async () => {
    const run = await prepare(['sim:nic,size=4m'], undefined, { switchover: 'manual' });
    try {
      let readyAt = 0;
      run.migration.source.on('switchover-ready', () => {
        readyAt = performance.now();
        setTimeout(() => run.migration.source.switchover(), 300);
      });
      const r = await run.migration.start();
      const stopAt = run.migration.source.downtimeStartedAt!;
      expect(readyAt).toBeGreaterThan(0);
      expect(stopAt - readyAt).toBeGreaterThanOrEqual(250);
      expect(r.source.convergence.reason).toBe('manual');
      expect(r.destination.devices[0]!.digest).toBe(r.source.devices[0]!.digest);
    } finally {
      await run.close();
    }
  });

  it('publishes its events on node:diagnostics_channel', async () => {
    const phases: string[] = [];
    const done: unknown[] = [];
    const onPhase = (m: unknown) => phases.push(`${(m as { side: string }).side}:${(m as { phase: string }).phase}`);
    const onDone = (m: unknown) => done.push(m);
    diagnostics.subscribe('vfio-migrate:migration:phase', onPhase);
    diagnostics.subscribe('vfio-migrate:migration:done', onDone);
    const run = await prepare(['sim:minimal']);
    try {
      const r = await run.migration.start();
      expect(phases).toContain('source:switchover');
      expect(phases).toContain('destination:destination-start');
      expect(done).toContainEqual(expect.objectContaining({ side: 'source', migrationId: r.source.migrationId }));
    } finally {
      diagnostics.unsubscribe('vfio-migrate:migration:phase', onPhase);
      diagnostics.unsubscribe('vfio-migrate:migration:done', onDone);
      await run.close();
    }
  });
});
