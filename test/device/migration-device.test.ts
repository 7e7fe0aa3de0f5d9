import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MigrationDevice } from '../../src/device/migration-device.ts';
import { READ_DRAINED, READ_END } from '../../src/device/types.ts';
import {
  ArcFailedError,
  DataSessionMissingError,
  DeviceInErrorError,
  MigrationUnsupportedError,
  PrecopyInfoUnavailableError,
  SessionClosedError,
  TransitionRejectedError,
} from '../../src/errors.ts';
import {
  ACCEPTED_FLAG_SETS,
  ALL_STATES,
  DeviceState,
  isSavingState,
  stateName,
  supportsState,
  transitionPath,
} from '../../src/fsm/index.ts';
import { RecordingBackend } from '../helpers/recording-backend.ts';

const S = DeviceState;

describe('MigrationDevice over the recording fake', () => {
  it('refuses a device whose flags lack STOP_COPY, as not migratable', async () => {
    await expect(MigrationDevice.open(new RecordingBackend({ flags: 2 }))).rejects.toBeInstanceOf(
      MigrationUnsupportedError,
    );
  });

  it('steps RUNNING to STOP_COPY through the kernel arcs and opens one saving session', async () => {
    const backend = new RecordingBackend();
    const dev = await MigrationDevice.open(backend);
    const r = await dev.setState('STOP_COPY');
    expect(backend.arcs.map((a) => `${a.from}>${a.to}`)).toEqual([
      'RUNNING>RUNNING_P2P',
      'RUNNING_P2P>STOP',
      'STOP>STOP_COPY',
    ]);
    expect(r.path.map(stateName)).toEqual(['RUNNING_P2P', 'STOP', 'STOP_COPY']);
    expect(r.opened).toBe(dev.savingSession);
    expect(backend.sessions).toHaveLength(1);
  });

  it('keeps the saving session across PRE_COPY, PRE_COPY_P2P and STOP_COPY and closes it on leaving the group', async () => {
    const backend = new RecordingBackend({ savingData: new Uint8Array(10) });
    const dev = await MigrationDevice.open(backend);
    const { opened } = await dev.setState('PRE_COPY');
    const buf = new Uint8Array(64);
    expect(await dev.savingSession!.read(buf)).toBe(10);
    expect(await dev.savingSession!.read(buf)).toBe(READ_DRAINED);
    expect((await dev.precopyInfo()).initialBytes).toBe(0n);
    await dev.setState('PRE_COPY_P2P');
    await dev.setState('STOP_COPY');
    expect(dev.savingSession).toBe(opened);
    expect(await dev.savingSession!.read(buf)).toBe(READ_END);
    await dev.setState('STOP');
    expect(dev.session).toBeNull();
    expect(opened!.closed).toBe(true);
    await expect((opened as { read(b: Uint8Array): Promise<number> }).read(buf)).rejects.toBeInstanceOf(
      SessionClosedError,
    );
  });

  it('fails the arc with VFM_DATA_SESSION_MISSING when a driver opens no fd on an arc into the saving group', async () => {
    class NoFdBackend extends RecordingBackend {
      override async applyArc(from: DeviceState, to: DeviceState) {
        await super.applyArc(from, to);
        return null;
      }
    }
    const dev = await MigrationDevice.open(new NoFdBackend());
    const err = await dev.setState('STOP_COPY').catch((e) => e);
    expect(err).toBeInstanceOf(ArcFailedError);
    expect(err.cause).toBeInstanceOf(DataSessionMissingError);
    expect(err.cause.code).toBe('VFM_DATA_SESSION_MISSING');
    expect(err).toMatchObject({ arcFrom: 'STOP', arcTo: 'STOP_COPY', state: 'STOP_COPY' });
    expect(dev.session).toBeNull();
  });

  it('opens the resuming session on STOP to RESUMING and closes it on RESUMING to STOP', async () => {
    const backend = new RecordingBackend({ state: S.STOP });
    const dev = await MigrationDevice.open(backend);
    const { opened } = await dev.setState('RESUMING');
    expect(opened?.kind).toBe('resuming');
    await dev.resumingSession!.write(new Uint8Array([9, 9]));
    await dev.setState('RUNNING');
    expect(opened!.closed).toBe(true);
    expect(dev.session).toBeNull();
    expect(backend.arcs.map((a) => `${a.from}>${a.to}`)).toEqual([
      'STOP>RESUMING',
      'RESUMING>STOP',
      'STOP>RUNNING_P2P',
      'RUNNING_P2P>RUNNING',
    ]);
  });

  it('refuses pre-copy info outside PRE_COPY states with the kernel error', async () => {
    const dev = await MigrationDevice.open(new RecordingBackend());
    await expect(dev.precopyInfo()).rejects.toBeInstanceOf(PrecopyInfoUnavailableError);
    await dev.setState('STOP_COPY');
    await expect(dev.precopyInfo()).rejects.toBeInstanceOf(PrecopyInfoUnavailableError);
  });

  it('reports where a failed arc left the device and what was completed', async () => {
    const backend = new RecordingBackend({ failArc: 'RUNNING_P2P>STOP' });
    const dev = await MigrationDevice.open(backend);
    const err = await dev.setState('STOP_COPY').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArcFailedError);
    expect(err).toMatchObject({
      state: 'RUNNING_P2P',
      arcFrom: 'RUNNING_P2P',
      arcTo: 'STOP',
      completed: ['RUNNING>RUNNING_P2P'],
    });
    expect(dev.state).toBe(S.RUNNING_P2P);
  });

  it('in ERROR refuses every transition until a reset, which returns it to RUNNING', async () => {
    const backend = new RecordingBackend({ failArc: 'STOP>STOP_COPY', failState: S.ERROR });
    const dev = await MigrationDevice.open(backend);
    await expect(dev.setState('STOP_COPY')).rejects.toMatchObject({ code: 'VFM_ARC_FAILED', state: 'ERROR' });
    expect(dev.state).toBe(S.ERROR);
    const arcsBefore = backend.arcs.length;
    await expect(dev.setState('RUNNING')).rejects.toBeInstanceOf(DeviceInErrorError);
    expect(backend.arcs.length).toBe(arcsBefore);
    await dev.reset();
    expect(dev.state).toBe(S.RUNNING);
    backend.failArc = undefined;
    await dev.setState('STOP');
    expect(dev.state).toBe(S.STOP);
  });

  it('refuses what the kernel refuses before touching the device', async () => {
    const backend = new RecordingBackend({ state: S.STOP_COPY });
    const dev = await MigrationDevice.open(backend);
    await expect(dev.setState('PRE_COPY')).rejects.toBeInstanceOf(TransitionRejectedError);
    expect(backend.arcs).toEqual([]);
  });

  it('holds a session exactly while the state needs one, for any request sequence and flag set', async () => {
    const supported = (flags: number) => ALL_STATES.filter((s) => s !== S.ERROR && supportsState(flags, s));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ACCEPTED_FLAG_SETS),
        fc.array(fc.nat(7), { minLength: 1, maxLength: 12 }),
        async (flags, picks) => {
          const backend = new RecordingBackend({ flags });
          const dev = await MigrationDevice.open(backend);
          const states = supported(flags);
          for (const pick of picks) {
            const to = states[pick % states.length]!;
            const expected = transitionPath(flags, dev.state, to);
            if (!expected.ok) {
              await expect(dev.setState(to)).rejects.toBeInstanceOf(TransitionRejectedError);
              continue;
            }
            const before = backend.arcs.length;
            await dev.setState(to);
            expect(backend.arcs.slice(before).map((a) => a.to)).toEqual(expected.path.map(stateName));
            expect(dev.savingSession !== null).toBe(isSavingState(dev.state));
            expect(dev.resumingSession !== null).toBe(dev.state === S.RESUMING);
            for (const s of backend.sessions) if (s !== dev.session) expect(s.closed).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
