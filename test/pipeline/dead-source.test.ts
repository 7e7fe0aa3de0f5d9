// A source device that dies mid-save must never produce a complete-looking stream: its death reads like the end of
// its data on the fd, so the stream is sealed (trailer, file moved into place) only once the device confirmed the
// end. Proven through a file (an existing file survives), a pipe and TCP (the loader refuses the unsealed stream and
// resets its device), for each profile's death.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../src/device/open-device.ts';
import { loadDevice } from '../../src/pipeline/device-load.ts';
import { saveDevice } from '../../src/pipeline/device-save.ts';
import { createBytePipe } from '../../src/pipeline/endpoint-adapters.ts';
import { inspectStream } from '../../src/stream/index.ts';
import { openSink, openSource } from '../../src/transport/open-transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'vfm-dead-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DYING = [
  { spec: 'sim:nic,die-at=1000000', codec: 'lz4' as const },
  { spec: 'sim:minimal,die-at=100000', codec: 'lz4' as const },
  { spec: 'sim:gpu,size=64m,dirty=0,die-at=5000000', codec: 'zstd' as const },
];

describe('a source device that dies during save', () => {
  for (const { spec, codec } of DYING) {
    it(`${spec} (${codec}) into a file: the save fails, the old file survives, no partial file, device RUNNING`, async () => {
      const file = join(dir, `${spec.split(',')[0]!.replace(':', '-')}.vfm`);
      writeFileSync(file, 'precious checkpoint');
      const device = await openDevice(spec, { role: 'source' });
      try {
        const err = await saveDevice(device, await openSink(file), { codec }).catch((e) => e);
        expect(['VFM_DEVICE_GONE', 'VFM_DATA_END_UNCONFIRMED']).toContain(err.code);
        expect(err.finalState).toBe('RUNNING');
        expect(device.state).toBe(2); // RUNNING: the dead device was reset (its thread restarted)
      } finally {
        await device.close();
      }
      expect(readFileSync(file, 'utf8')).toBe('precious checkpoint');
      expect(readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
    });
  }

  it('into a new file: nothing appears under the name', async () => {
    const file = join(dir, 'never.vfm');
    const device = await openDevice('sim:nic,die-at=1000000', { role: 'source' });
    try {
      const err = await saveDevice(device, await openSink(file)).catch((e) => e);
      // which is heard first, the fd's end or the thread's exit, is a race; either fails the save
      expect(['VFM_DEVICE_GONE', 'VFM_DATA_END_UNCONFIRMED']).toContain(err.code);
    } finally {
      await device.close();
    }
    expect(existsSync(file)).toBe(false);
  });

  it('through a pipe: the stream has no trailer, so the loader refuses it and resets its device', async () => {
    const src = await openDevice('sim:nic,dirty=0,die-at=1000000', { role: 'source' });
    const dst = await openDevice('sim:nic,dirty=0', { role: 'destination' });
    const fresh = await dst.stateDigest();
    try {
      const pipe = createBytePipe();
      const [saved, loaded] = await Promise.allSettled([
        saveDevice(src, pipe.sink, { workers: 1 }),
        loadDevice(pipe.source, dst, { workers: 1 }),
      ]);
      expect(saved.status).toBe('rejected');
      expect(loaded.status).toBe('rejected');
      // the save tore its sink down: the loader hears an abort or a truncation, never a complete stream
      expect(['VFM_STREAM_TRUNCATED', 'VFM_DATA_END_UNCONFIRMED', 'VFM_DEVICE_GONE']).toContain(
        (loaded as PromiseRejectedResult).reason.code,
      );
      expect((loaded as PromiseRejectedResult).reason.finalState).toBe('RUNNING');
      expect(await dst.stateDigest()).toBe(fresh); // reset, not resumed with a partial state
    } finally {
      await Promise.all([src.close(), dst.close()]);
    }
  });

  it('over TCP: the loader refuses the unsealed stream (truncated) and resets its device', async () => {
    const src = await openDevice('sim:gpu,size=64m,dirty=0,die-at=5000000', { role: 'source' });
    const dst = await openDevice('sim:gpu,size=64m,dirty=0', { role: 'destination' });
    const fresh = await dst.stateDigest();
    try {
      let listening!: (a: string) => void;
      const address = new Promise<string>((r) => (listening = r));
      const loaded = openSource('tcp://127.0.0.1:0', { onListening: listening })
        .then((s) => loadDevice(s, dst, { workers: 1 }))
        .catch((e) => e);
      const sink = await openSink(await address);
      const saveErr = await saveDevice(src, sink, { codec: 'zstd', workers: 1 }).catch((e) => e);
      expect(saveErr.code).toMatch(/VFM_DATA_END_UNCONFIRMED|VFM_DEVICE_GONE/);
      const loadErr = await loaded;
      expect(loadErr.code).toMatch(/VFM_STREAM_TRUNCATED|VFM_CONNECTION_LOST/);
      expect(loadErr.finalState).toBe('RUNNING');
      expect(await dst.stateDigest()).toBe(fresh);
    } finally {
      await Promise.all([src.close(), dst.close()]);
    }
  });
});

describe('what a sealed stream promises', () => {
  it('a complete save of a device that vouches for its sizes marks its STOP_COPY section exact, and it verifies', async () => {
    const file = join(dir, 'exact.vfm');
    const device = await openDevice('sim:minimal', { role: 'source' });
    try {
      await saveDevice(device, await openSink(file));
    } finally {
      await device.close();
    }
    const report = await inspectStream([readFileSync(file)]);
    expect(report.ok).toBe(true);
    expect(report.sections).toMatchObject([{ kind: 'stop-copy', exact: true }]);
    expect(report.sections[0]!.rawBytes).toBe(report.sections[0]!.expectedBytes);
    expect(report.warnings).toEqual([]);
  });
});
