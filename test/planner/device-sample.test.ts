// A device's sample: bounded in bytes kept and in time, windows spread over the data, read through the device's own
// data session, and the device back where it started (running devices never stopped when they have PRE_COPY).
import { describe, expect, it } from 'vitest';
import { openDevice } from '../../src/device/index.ts';
import { DeviceState } from '../../src/fsm/index.ts';
import { sampleDevice } from '../../src/planner/index.ts';

describe('sampleDevice', () => {
  it('a PRE_COPY device: sampled while it runs, windows spread over all its data, back in RUNNING', async () => {
    const d = await openDevice('sim:nic,size=4m,dirty=0');
    try {
      const s = await sampleDevice(d, { sampleBytes: 1 << 20, windowBytes: 128 << 10, timeMs: 10_000 });
      expect(s.via).toBe('pre-copy');
      expect(s.stoppedMs).toBe(0);
      expect(s.data.length).toBe(1 << 20);
      expect(s.offsets).toHaveLength(8);
      expect(s.offsets[0]).toBe(0);
      // spread: the last window starts in the last eighth of the data, and every window is a stride apart
      expect(s.offsets.at(-1)!).toBeGreaterThan((s.dataBytes * 7) / 8 - (128 << 10));
      const stride = s.offsets[1]! - s.offsets[0]!;
      for (const [i, o] of s.offsets.entries()) expect(o).toBe(i * stride);
      expect(s.stopCopyBytes).toBe(Number(await d.stopCopySize()));
      expect(s.readRate).toBeGreaterThan(0);
      expect(s.arcs.map((a) => `${a.from}>${a.to}`)).toEqual(['RUNNING>PRE_COPY', 'PRE_COPY>RUNNING']);
      expect(s.arcMs).toBe(s.arcs[1]!.ms);
      expect(await d.refreshState()).toBe(DeviceState.RUNNING);
    } finally {
      await d.close();
    }
  });

  it('the time bound holds the windows to what the device delivers in time, from the start', async () => {
    const d = await openDevice('sim:gpu,size=256m,dirty=0');
    try {
      const s = await sampleDevice(d, { sampleBytes: 2 << 20, windowBytes: 256 << 10, timeMs: 100 });
      expect(s.scannedBytes).toBeLessThan(s.dataBytes);
      expect(s.offsets.length).toBeGreaterThan(0);
      expect(s.data.length).toBe(s.offsets.length * (256 << 10));
      expect(await d.refreshState()).toBe(DeviceState.RUNNING);
    } finally {
      await d.close();
    }
  });

  it('a device without PRE_COPY, or found stopped, is sampled from STOP_COPY and left where it was', async () => {
    const minimal = await openDevice('sim:minimal');
    const stopped = await openDevice('sim:nic,size=1m,dirty=0');
    try {
      const s = await sampleDevice(minimal);
      expect(s.via).toBe('stop-copy');
      expect(s.stoppedMs).toBeGreaterThan(0);
      // a small device is read whole: its sample is all of its data
      expect(s.data.length).toBe(s.stopCopyBytes);
      expect(await minimal.refreshState()).toBe(DeviceState.RUNNING);
      await stopped.setState(DeviceState.STOP);
      const t = await sampleDevice(stopped, { sampleBytes: 256 << 10 });
      expect(t.via).toBe('stop-copy');
      expect(await stopped.refreshState()).toBe(DeviceState.STOP);
    } finally {
      await Promise.all([minimal.close(), stopped.close()]);
    }
  });

  it('a device mid-migration is refused untouched', async () => {
    const d = await openDevice('sim:nic,size=1m');
    try {
      await d.setState(DeviceState.PRE_COPY);
      await expect(sampleDevice(d)).rejects.toMatchObject({ code: 'VFM_DEVICE_NOT_READY' });
      expect(await d.refreshState()).toBe(DeviceState.PRE_COPY);
    } finally {
      await d.setState(DeviceState.RUNNING);
      await d.close();
    }
  });
});
