import { describe, expect, it } from 'vitest';
import { openDevice } from '../../../src/device/open-device.ts';
import type { SimBackend } from '../../../src/device/sim/sim-backend.ts';

// The one heavy-ish test that runs in CI: a 2 GiB GPU state read by a deliberately slow reader. The device must be
// held back by the full socket (bytes produced stay within a small window of bytes read) and no memory may grow
// with the amount streamed, neither on the host nor in the device's thread.
describe('a slow reader slows the device down instead of growing memory', () => {
  it('sim:gpu,size=2g: producer throttled to the reader, host and device memory flat', async () => {
    const dev = await openDevice('sim:gpu,size=2g,dirty=0');
    const sim = dev.backend as SimBackend;
    try {
      await dev.setState('STOP_COPY');
      const session = dev.savingSession!;
      const buf = new Uint8Array(1 << 20);
      const window: number[] = [];
      const heap0 = process.memoryUsage().heapUsed;
      let rss = 0;
      let deviceHeap = 0;
      const deadline = performance.now() + 2500;
      while (performance.now() < deadline) {
        const n = await session.read(buf);
        expect(n).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 5)); // ~ a few hundred MiB/s at most, far below the producer
        const s = await sim.stats();
        window.push(s.produced - session.bytesRead);
        deviceHeap = Math.max(deviceHeap, s.heapUsed);
        rss = Math.max(rss, process.memoryUsage().rss);
      }
      // Produced minus read: socket buffers in the kernel, the host's 256 KiB read buffer, 512 KiB of write-ahead.
      expect(Math.max(...window)).toBeLessThan(4 * 1024 * 1024);
      expect(session.bytesRead).toBeGreaterThan(16 * 1024 * 1024);
      expect(session.bytesRead).toBeLessThan(2 * 1024 ** 3);
      expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 * 1024 * 1024);
      // The device keeps 9 bytes of bookkeeping per page (4.5 MiB for 2 GiB), never the state itself.
      expect(deviceHeap).toBeLessThan(64 * 1024 * 1024);
      expect(rss).toBeLessThan(1024 * 1024 * 1024);
    } finally {
      await dev.close();
    }
  });
});
