// Deno: a simulated device round trip (worker thread + UNIX socket through node: built-ins) with equal digests.
import assert from 'node:assert/strict';
import { openDevice } from '../../src/device/open-device.ts';
import { READ_DRAINED, READ_END } from '../../src/device/types.ts';

declare const Deno: { test(name: string, fn: () => void | Promise<void>): void };

Deno.test('sim:nic saves on one simulated device and resumes on another with equal digests', async () => {
  const src = await openDevice('sim:nic,size=2m,seed=5,dirty=0');
  const dst = await openDevice('sim:nic,size=2m,seed=6,dirty=0');
  try {
    assert.notEqual(await src.stateDigest(), await dst.stateDigest());
    await src.setState('STOP_COPY');
    await dst.setState('RESUMING');
    const buf = new Uint8Array(100_000);
    let bytes = 0;
    for (;;) {
      const n = await src.savingSession!.read(buf);
      assert.notEqual(n, READ_DRAINED);
      if (n === READ_END) break;
      await dst.resumingSession!.write(buf.subarray(0, n));
      bytes += n;
    }
    assert.ok(bytes > 2 * 1024 * 1024);
    await src.setState('STOP');
    await dst.setState('STOP');
    assert.equal(await dst.stateDigest(), await src.stateDigest());
    await dst.setState('RUNNING');
  } finally {
    await src.close();
    await dst.close();
  }
});

Deno.test('a corrupted stream is refused and leaves the destination in ERROR', async () => {
  const src = await openDevice('sim:minimal,size=64k,corrupt-at=9000');
  const dst = await openDevice('sim:minimal,size=64k');
  try {
    await src.setState('STOP_COPY');
    await dst.setState('RESUMING');
    const buf = new Uint8Array(65536);
    for (let n = await src.savingSession!.read(buf); n !== READ_END; n = await src.savingSession!.read(buf)) {
      await dst.resumingSession!.write(buf.subarray(0, n));
    }
    await assert.rejects(dst.setState('STOP'), (err: Error & { state?: string; cause?: { reason?: string } }) => {
      assert.equal(err.state, 'ERROR');
      assert.equal(err.cause?.reason, 'corrupt');
      return true;
    });
  } finally {
    await src.close();
    await dst.close();
  }
});
