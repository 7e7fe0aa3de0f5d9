// An embedder wires save and load together with its own Node streams and aborts one side only. The other side must
// fail with a typed VfioMigrateError (the runtime's error kept as its cause), never with Node's own error objects,
// and both devices must end RUNNING, ready for a retry.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DeviceState } from '../../src/fsm/index.ts';
import { openDevice, VfioMigrateError } from '../../src/index.ts';
import { loadDevice } from '../../src/pipeline/device-load.ts';
import { saveDevice } from '../../src/pipeline/device-save.ts';

async function pair() {
  const src = await openDevice('sim:gpu,size=256m,dirty=0', { role: 'source' });
  const dst = await openDevice('sim:gpu,size=256m,dirty=0', { role: 'destination' });
  return { src, dst, close: () => Promise.all([src.close(), dst.close()]) };
}

/** A progress listener that aborts `controller` once some data has moved. */
const abortOnceMoving = (controller: AbortController) => (p: { bytes: number }) => {
  if (p.bytes > 4 << 20) controller.abort(new Error('the embedder gave up'));
};

describe('Node streams as the transport, one side aborted', () => {
  it('the save side aborted: save rejects VFM_ABORTED, load rejects VFM_TRANSPORT_IO (cause kept), both RUNNING', async () => {
    const { src, dst, close } = await pair();
    try {
      const wire = new PassThrough();
      const controller = new AbortController();
      const [saved, loaded] = await Promise.allSettled([
        saveDevice(src, wire, {
          workers: 1,
          signal: controller.signal,
          onProgress: abortOnceMoving(controller),
          progressIntervalMs: 5,
        }),
        loadDevice(wire, dst, { workers: 1 }),
      ]);
      const saveErr = (saved as PromiseRejectedResult).reason;
      const loadErr = (loaded as PromiseRejectedResult).reason;
      expect(saveErr).toBeInstanceOf(VfioMigrateError);
      expect(saveErr.code).toBe('VFM_ABORTED');
      expect(loadErr).toBeInstanceOf(VfioMigrateError);
      expect(loadErr.code).toBe('VFM_TRANSPORT_IO');
      expect(loadErr.cause).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
      expect([src.state, dst.state]).toEqual([DeviceState.RUNNING, DeviceState.RUNNING]);
      expect([saveErr.finalState, loadErr.finalState]).toEqual(['RUNNING', 'RUNNING']);
    } finally {
      await close();
    }
  });

  it('the load side aborted: load rejects VFM_ABORTED, save (no signal) rejects VFM_TRANSPORT_IO, both RUNNING', async () => {
    const { src, dst, close } = await pair();
    try {
      const wire = new PassThrough();
      const controller = new AbortController();
      const [saved, loaded] = await Promise.allSettled([
        saveDevice(src, wire, { workers: 1 }),
        loadDevice(wire, dst, {
          workers: 1,
          signal: controller.signal,
          onProgress: abortOnceMoving(controller),
          progressIntervalMs: 5,
        }),
      ]);
      const saveErr = (saved as PromiseRejectedResult).reason;
      const loadErr = (loaded as PromiseRejectedResult).reason;
      expect(loadErr).toBeInstanceOf(VfioMigrateError);
      expect(loadErr.code).toBe('VFM_ABORTED');
      expect(saveErr).toBeInstanceOf(VfioMigrateError);
      expect(saveErr.code).toBe('VFM_TRANSPORT_IO');
      expect(saveErr.cause).toBeInstanceOf(Error);
      expect([src.state, dst.state]).toEqual([DeviceState.RUNNING, DeviceState.RUNNING]);
      expect([saveErr.finalState, loadErr.finalState]).toEqual(['RUNNING', 'RUNNING']);
    } finally {
      await close();
    }
  });
});
