import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceSet } from '../../src/device/device-set.ts';
import { MigrationDevice } from '../../src/device/migration-device.ts';
import { DeviceInErrorError, DeviceSetTransitionError } from '../../src/errors.ts';
import {
  DeviceState,
  MigrationFlag,
  parseState,
  type StateName,
  stateName,
  supportsState,
} from '../../src/fsm/index.ts';
import { type RecordedArc, RecordingBackend } from '../helpers/recording-backend.ts';

const S = DeviceState;
const ALL = 7;
const NO_P2P = MigrationFlag.STOP_COPY | MigrationFlag.PRE_COPY;

async function makeSet(
  members: { flags: number; state?: DeviceState; failArc?: string }[],
  log: RecordedArc[],
): Promise<{ set: DeviceSet; backends: RecordingBackend[] }> {
  const backends = members.map(
    (m, i) =>
      new RecordingBackend({ id: `fake:${i}`, flags: m.flags, state: m.state, log, failArc: m.failArc, arcDelayMs: 1 }),
  );
  const set = new DeviceSet(await Promise.all(backends.map((b) => MigrationDevice.open(b))));
  return { set, backends };
}

const idx = (log: RecordedArc[], pred: (a: RecordedArc) => boolean) =>
  log.map((a, i) => (pred(a) ? i : -1)).filter((i) => i >= 0);
const arcName = (a: RecordedArc) => `${a.device} ${a.from}>${a.to}`;

describe('DeviceSet ordering', () => {
  it('puts every device in RUNNING_P2P before any reaches STOP', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet([{ flags: ALL }, { flags: ALL }, { flags: ALL }], log);
    const r = await set.setState('STOP_COPY');
    expect(r.states).toEqual(['STOP_COPY', 'STOP_COPY', 'STOP_COPY']);
    const quiesce = idx(log, (a) => a.to === 'RUNNING_P2P');
    const stops = idx(log, (a) => a.to === 'STOP');
    expect(quiesce).toHaveLength(3);
    expect(Math.max(...quiesce)).toBeLessThan(Math.min(...stops));
    expect(r.arcs.map((a) => a.phase)).toEqual([...Array(3).fill('p2p'), ...Array(6).fill('final')]);
  });

  it('puts every pre-copying device in PRE_COPY_P2P before any reaches STOP_COPY', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet([{ flags: ALL }, { flags: ALL }], log);
    await set.setState('PRE_COPY');
    log.length = 0;
    await set.setState('STOP_COPY');
    expect(log.map(arcName)).toEqual([
      'fake:0 PRE_COPY>PRE_COPY_P2P',
      'fake:1 PRE_COPY>PRE_COPY_P2P',
      'fake:0 PRE_COPY_P2P>STOP_COPY',
      'fake:1 PRE_COPY_P2P>STOP_COPY',
    ]);
  });

  it('on resume leaves RUNNING_P2P only after every device is there', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet(
      [
        { flags: ALL, state: S.RESUMING },
        { flags: ALL, state: S.STOP },
      ],
      log,
    );
    await set.setState('RUNNING');
    const reached = idx(log, (a) => a.to === 'RUNNING_P2P');
    const left = idx(log, (a) => a.from === 'RUNNING_P2P');
    expect(reached).toHaveLength(2);
    expect(left).toHaveLength(2);
    expect(Math.max(...reached)).toBeLessThan(Math.min(...left));
    expect(set.states).toEqual(['RUNNING', 'RUNNING']);
  });

  it('stops a device without P2P after its P2P peers are quiesced and before they stop', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet([{ flags: ALL }, { flags: NO_P2P }], log);
    await set.setState('STOP');
    expect(log.map(arcName)).toEqual(['fake:0 RUNNING>RUNNING_P2P', 'fake:1 RUNNING>STOP', 'fake:0 RUNNING_P2P>STOP']);
  });

  it('starts a device without P2P once its peers answer P2P, before they may start it', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet(
      [
        { flags: ALL, state: S.STOP },
        { flags: NO_P2P, state: S.STOP },
      ],
      log,
    );
    await set.setState('RUNNING');
    expect(log.map(arcName)).toEqual(['fake:0 STOP>RUNNING_P2P', 'fake:1 STOP>RUNNING', 'fake:0 RUNNING_P2P>RUNNING']);
  });

  it('merges RUNNING_P2P into RUNNING for a device without P2P, as the kernel does', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet(
      [
        { flags: ALL, state: S.STOP },
        { flags: NO_P2P, state: S.STOP },
      ],
      log,
    );
    const r = await set.setState('RUNNING_P2P');
    expect(r.states).toEqual(['RUNNING_P2P', 'RUNNING']);
    expect(log.map(arcName)).toEqual(['fake:0 STOP>RUNNING_P2P', 'fake:1 STOP>RUNNING']);
  });

  it('refuses a set with a member in ERROR before touching any device', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet([{ flags: ALL }, { flags: ALL, state: S.ERROR }], log);
    await expect(set.setState('STOP')).rejects.toBeInstanceOf(DeviceInErrorError);
    expect(log).toEqual([]);
  });

  it('stops at the failing phase and reports where every member is', async () => {
    const log: RecordedArc[] = [];
    const { set } = await makeSet([{ flags: ALL }, { flags: ALL, failArc: 'RUNNING>RUNNING_P2P' }], log);
    const err = (await set.setState('STOP_COPY').catch((e: unknown) => e)) as DeviceSetTransitionError;
    expect(err).toBeInstanceOf(DeviceSetTransitionError);
    expect(err.phase).toBe('p2p');
    expect(err.failures.map((f) => [f.device, f.code])).toEqual([['fake:1', 'VFM_ARC_FAILED']]);
    expect(err.states).toEqual({ 'fake:0': 'RUNNING_P2P', 'fake:1': 'RUNNING' });
    expect(log.map(arcName)).toEqual(['fake:0 RUNNING>RUNNING_P2P']);
  });

  it('never stops a device while a peer may initiate P2P, nor starts one while a peer cannot answer (any set, start, target)', async () => {
    const responsive = (s: StateName) => ['RUNNING', 'PRE_COPY', 'RUNNING_P2P', 'PRE_COPY_P2P'].includes(s);
    const initiating = (s: StateName) => s === 'RUNNING' || s === 'PRE_COPY';
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(ALL, MigrationFlag.STOP_COPY | MigrationFlag.P2P), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(0, 1, 1 | 4, 0),
        fc.constantFrom(S.RUNNING, S.STOP, S.STOP_COPY, S.RESUMING, S.PRE_COPY, S.RUNNING_P2P),
        fc.constantFrom(S.RUNNING, S.STOP, S.STOP_COPY, S.RESUMING, S.PRE_COPY, S.RUNNING_P2P, S.PRE_COPY_P2P),
        async (p2pFlags, noP2PFlags, start, target) => {
          // At most one member without P2P: two of them cannot be ordered safely by anyone.
          const flags = noP2PFlags === 0 ? p2pFlags : [...p2pFlags, noP2PFlags];
          const merged = (f: number, s: DeviceState) =>
            (f & 2) !== 0 ? s : s === S.RUNNING_P2P ? S.RUNNING : s === S.PRE_COPY_P2P ? S.PRE_COPY : s;
          if (!flags.every((f) => supportsState(f, merged(f, start)) && supportsState(f, merged(f, target)))) return;
          const log: RecordedArc[] = [];
          const { set } = await makeSet(
            flags.map((f) => ({ flags: f, state: merged(f, start) })),
            log,
          );
          let r: Awaited<ReturnType<DeviceSet['setState']>>;
          try {
            r = await set.setState(target);
          } catch (err) {
            expect((err as { code: string }).code).toBe('VFM_TRANSITION_REJECTED');
            expect(log).toEqual([]);
            return;
          }
          const cur = new Map<string, StateName>(flags.map((f, i) => [`fake:${i}`, stateName(merged(f, start))]));
          for (const a of log) {
            const others = [...cur.entries()].filter(([d]) => d !== a.device).map(([, s]) => s);
            const ctx = `${a.device} ${a.from}>${a.to} amid ${others.join(',')}`;
            if (!responsive(a.to)) expect(others.some(initiating), ctx).toBe(false);
            if (initiating(a.to)) expect(others.every(responsive), ctx).toBe(true);
            cur.set(a.device, a.to);
          }
          expect(r.states).toEqual(flags.map((f) => stateName(merged(f, target))));
          expect(parseState(r.target)).toBe(target);
        },
      ),
      { numRuns: 120 },
    );
  });
});
