import { describe, expect, it } from 'vitest';
import { MigrationDevice } from '../../src/device/migration-device.ts';
import { openDevice } from '../../src/device/open-device.ts';
import { DeviceNotReadyError } from '../../src/errors.ts';
import { DeviceState, stateName } from '../../src/fsm/index.ts';
import { autoWorkerCount } from '../../src/pipeline/codec-pool.ts';
import { type ByteSink, loadDevice, saveDevice, sinkFromCallback } from '../../src/pipeline/index.ts';
import { RecordingBackend } from '../helpers/recording-backend.ts';

const DEV = 'sim:nic,size=2m';

function collect(): { sink: ByteSink; bytes(): Buffer } {
  const parts: Uint8Array[] = [];
  return { sink: sinkFromCallback((c) => void parts.push(c)), bytes: () => Buffer.concat(parts) };
}

async function saved(spec = DEV, opts: Parameters<typeof saveDevice>[2] = {}) {
  const device = await openDevice(spec, { role: 'source' });
  try {
    const out = collect();
    const result = await saveDevice(device, out.sink, { workers: 0, ...opts });
    return { stream: out.bytes(), result, state: device.state };
  } finally {
    await device.close();
  }
}

describe('device save and load', () => {
  it('saves with pre-copy rounds, loads, and both ends report the same state digest', async () => {
    const { stream, result, state } = await saved(DEV, { precopy: { maxRounds: 2 } });
    expect(state).toBe(DeviceState.RUNNING);
    expect(result.precopyRounds).toBeGreaterThan(0);
    expect(result.sections.map((s) => s.kind)).toContain('pre-copy');
    expect(result.sections.at(-1)!.kind).toBe('stop-copy');
    const dst = await openDevice(DEV, { role: 'destination' });
    try {
      const loaded = await loadDevice([stream], dst, { workers: 0 });
      expect(loaded.digest).toBe(result.digest);
      expect(loaded.sections.length).toBe(result.sections.length);
      expect(dst.state).toBe(DeviceState.RUNNING);
    } finally {
      await dst.close();
    }
  });

  it('leaves a core to a simulated device: default codec threads are those of a transfer with one busy thread', async () => {
    const { stream, result } = await saved('sim:gpu,size=8m,dirty=0', { workers: undefined });
    const expected = autoWorkerCount(null, 1 << 20, 'lz4', 1);
    expect(result.workers).toBe(expected);
    const dst = await openDevice('sim:gpu,size=8m,dirty=0', { role: 'destination' });
    try {
      const loaded = await loadDevice([stream], dst);
      expect(loaded.workers).toBe(expected);
      expect(loaded.digest).toBe(result.digest);
    } finally {
      await dst.close();
    }
  });

  it('returns the source device to RUNNING when its data session fails mid-save', async () => {
    const device = await openDevice(`${DEV},fail-at=300000`, { role: 'source' });
    try {
      await expect(saveDevice(device, collect().sink, { workers: 0 })).rejects.toThrow();
      expect(device.state).toBe(DeviceState.RUNNING);
    } finally {
      await device.close();
    }
  });

  it('returns the source device to RUNNING when the sink breaks mid-save', async () => {
    const device = await openDevice(DEV, { role: 'source' });
    let writes = 0;
    const broken: ByteSink = {
      name: 'broken',
      write: async () => {
        if (++writes === 3) throw new Error('disk full');
      },
      end: async () => {},
      abort: async () => {},
    };
    try {
      await expect(saveDevice(device, broken, { workers: 0, chunkSize: 256 << 10 })).rejects.toThrow('disk full');
      expect(device.state).toBe(DeviceState.RUNNING);
    } finally {
      await device.close();
    }
  });

  it('resets the destination instead of resuming a corrupted stream', async () => {
    const { stream } = await saved();
    const bad = Buffer.from(stream);
    bad[bad.length - 200]! ^= 4; // in the last chunk: most of the data was already written to the device
    const dst = await openDevice(DEV, { role: 'destination' });
    const steps: string[] = [];
    const setState = dst.setState.bind(dst);
    dst.setState = (target, o) => {
      steps.push(String(target));
      return setState(target, o);
    };
    try {
      const err = await loadDevice([bad], dst, { workers: 0 }).catch((e) => e);
      expect(err.code).toMatch(/^VFM_STREAM_/);
      expect(dst.state).toBe(DeviceState.RUNNING);
      // RESUMING was entered, but never left through STOP (the arc where the device would apply the state)
      expect(steps[0]).toBe(String(DeviceState.RESUMING));
      expect(steps).not.toContain(String(DeviceState.STOP));
    } finally {
      await dst.close();
    }
  });

  it('never touches the destination for a stream that is not ours', async () => {
    const dst = await openDevice(DEV, { role: 'destination' });
    let touched = false;
    dst.setState = async () => {
      touched = true;
      throw new Error('must not be called');
    };
    try {
      const err = await loadDevice([new Uint8Array(5000).fill(0x42)], dst, { workers: 0 }).catch((e) => e);
      expect(err.code).toMatch(/^VFM_STREAM_/);
      expect(touched).toBe(false);
    } finally {
      await dst.close();
    }
  });
});

describe('a device left mid-migration by an earlier user', () => {
  for (const state of [DeviceState.STOP_COPY, DeviceState.PRE_COPY, DeviceState.RESUMING, DeviceState.ERROR]) {
    it(`is refused untouched by save and load when found in ${stateName(state)}`, async () => {
      for (const operation of ['save', 'load'] as const) {
        const backend = new RecordingBackend({ flags: 7, state });
        const device = await MigrationDevice.open(backend);
        const err =
          operation === 'save'
            ? await saveDevice(device, collect().sink, { workers: 0 }).catch((e) => e)
            : await loadDevice([new Uint8Array(0)], device, { workers: 0 }).catch((e) => e);
        expect(err).toBeInstanceOf(DeviceNotReadyError);
        expect(err).toMatchObject({ code: 'VFM_DEVICE_NOT_READY', state: stateName(state) });
        expect(err.message).toContain('vfio-migrate recover --device');
        expect(backend.arcs).toEqual([]);
        expect(backend.resets).toBe(0);
        expect(backend.state).toBe(state);
      }
    });
  }

  it('saves from STOP (a paused VM) and loads into STOP', async () => {
    const src = await MigrationDevice.open(new RecordingBackend({ flags: 7, state: DeviceState.STOP }));
    const out = collect();
    const saved = await saveDevice(src, out.sink, { workers: 0, leaveIn: 'stop' });
    expect(saved.finalState).toBe('STOP');
    const dst = await MigrationDevice.open(new RecordingBackend({ flags: 7, state: DeviceState.STOP }));
    const loaded = await loadDevice([out.bytes()], dst, { workers: 0, leaveIn: 'stop', checkDevice: false });
    expect(loaded.bytes).toBe(saved.bytes);
    expect(dst.state).toBe(DeviceState.STOP);
  });
});
