import { afterEach, describe, expect, it } from 'vitest';
import type { MigrationDevice } from '../../../src/device/migration-device.ts';
import { openDevice } from '../../../src/device/open-device.ts';
import { TRAILER_SIZE } from '../../../src/device/sim/device-stream-format.ts';
import { SIM_PROFILES } from '../../../src/device/sim/profiles.ts';
import type { SimBackend } from '../../../src/device/sim/sim-backend.ts';
import { READ_DRAINED } from '../../../src/device/types.ts';
import { DeviceState, MigrationFlag } from '../../../src/fsm/index.ts';
import { pump, stopCopyMigrate } from './transfer.ts';

const opened: MigrationDevice[] = [];
async function open(spec: string): Promise<MigrationDevice> {
  const d = await openDevice(spec);
  opened.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

const sim = (d: MigrationDevice) => d.backend as SimBackend;

// Small sizes keep the suite fast; the GPU profile's multi-GiB default is exercised in bounded-memory.test.ts.
const SIZES: Record<string, string> = { nic: '8m', gpu: '32m', minimal: '256k', accel: '16k' };

describe('simulated devices: save on one, resume on another', () => {
  for (const profile of SIM_PROFILES) {
    it(`${profile.name}: digests equal through real fds with a reader slower than the producer, memory bounded`, async () => {
      const spec = `sim:${profile.name},size=${SIZES[profile.name]},seed=7,clock=manual`;
      const src = await open(spec);
      const dst = await open(`sim:${profile.name},size=${SIZES[profile.name]},seed=99`);
      const before = await src.stateDigest();
      expect(await dst.stateDigest()).not.toBe(before);
      let maxAhead = 0;
      const bytes = await stopCopyMigrate(src, dst, {
        readSize: 64 * 1024,
        slowMs: 2,
        slowEvery: 8,
        onRead: async () => {
          // The device may run ahead of the reader only by what the socket and its write-ahead hold.
          const stats = await sim(src).stats();
          maxAhead = Math.max(maxAhead, stats.produced - src.savingSession!.bytesRead);
        },
      });
      expect(maxAhead).toBeLessThan(4 * 1024 * 1024);
      expect(bytes).toBeGreaterThan(profile.name === 'accel' ? 16 * 1024 : 256 * 1024);
      await dst.setState('STOP');
      expect(await dst.stateDigest()).toBe(await src.stateDigest());
      expect(await src.stateDigest()).toBe(before);
      await dst.setState('RUNNING');
      expect(dst.state).toBe(DeviceState.RUNNING);
    });
  }

  it('pre-copy: the running device dirties pages, dirty_bytes grows, and the destination ends with the final state', async () => {
    const src = await open('sim:nic,size=4m,dirty=1m/s,clock=manual,seed=3');
    const dst = await open('sim:nic,size=4m');
    const fresh = await src.stateDigest();
    await src.setState('PRE_COPY');
    await dst.setState('RESUMING');
    const info0 = await src.precopyInfo();
    expect(info0.initialBytes).toBeGreaterThan(4n * 1024n * 1024n);
    expect(info0.dirtyBytes).toBe(0n);
    let rounds = 0;
    await pump(src, dst, {
      onDrained: async () => {
        const info = await src.precopyInfo();
        expect(info.initialBytes).toBe(0n);
        if (rounds++ === 3) return false;
        await sim(src).advanceClock(200); // 200 KiB of writes
        expect((await src.precopyInfo()).dirtyBytes).toBeGreaterThan(0n);
        return true;
      },
    });
    await sim(src).advanceClock(100); // more writes after the last pre-copy read: they must go in STOP_COPY
    const left = await src.stopCopySize();
    await src.setState('STOP_COPY');
    expect(left).toBeGreaterThan(0n);
    await pump(src, dst);
    await src.setState('STOP');
    await dst.setState('STOP');
    const final = await src.stateDigest();
    expect(final).not.toBe(fresh);
    expect(await dst.stateDigest()).toBe(final);
  });

  it('pre-copy reports READ_DRAINED, not the end, while there is nothing to send', async () => {
    const src = await open('sim:accel,clock=manual');
    await src.setState('PRE_COPY');
    const n = await pump(src, null);
    expect(n).toBeGreaterThan(0);
    expect(await src.savingSession!.read(new Uint8Array(16))).toBe(READ_DRAINED);
    expect(await src.stopCopySize()).toBe(BigInt(TRAILER_SIZE)); // only the trailer is left
  });

  it('a device without P2P steps RUNNING to STOP directly; the set of two P2P NICs and a GPU migrates as one', async () => {
    const { DeviceSet } = await import('../../../src/device/device-set.ts');
    const specs = [
      'sim:nic,size=1m,seed=1,dirty=0',
      'sim:nic,size=1m,seed=2,dirty=0',
      'sim:gpu,size=2m,seed=3,dirty=0',
    ];
    const srcs = new DeviceSet(await Promise.all(specs.map(open)));
    const dsts = new DeviceSet(await Promise.all(specs.map((s) => open(s.replace(/seed=\d/, 'seed=9')))));
    expect(srcs.devices[2]!.flags & MigrationFlag.P2P).toBe(0);
    const stop = await srcs.setState('STOP_COPY');
    expect(stop.arcs.filter((a) => a.index === 2).map((a) => `${a.from}>${a.to}`)).toEqual([
      'RUNNING>STOP',
      'STOP>STOP_COPY',
    ]);
    await dsts.setState('RESUMING');
    for (let i = 0; i < 3; i++) await pump(srcs.devices[i]!, dsts.devices[i]!);
    await dsts.setState('RUNNING');
    await srcs.setState('STOP');
    expect(await dsts.stateDigests()).toEqual(await srcs.stateDigests());
  });
});
