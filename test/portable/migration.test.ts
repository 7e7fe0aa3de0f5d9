// Deno: live migrations over real loopback TCP through node:net, node:diagnostics_channel and EventTarget as Deno
// provides them. The destination ends with the source's exact state; a connection cut mid pre-copy rolls both ends
// back (source RUNNING, destination reset to its fresh state); a refused peer touches no device.
import assert from 'node:assert/strict';
import { MigrationRefusedError } from '../../src/errors.ts';
import { freshDigests, prepare, prepareEnds } from '../migration/helpers.ts';

declare const Deno: { test(name: string, fn: () => void | Promise<void>): void };

Deno.test('a P2P NIC set migrates with pre-copy: equal digests, source STOP, destination RUNNING', async () => {
  const specs = ['sim:nic,size=4m', 'sim:nic,size=4m,seed=2'];
  const run = await prepare(specs);
  try {
    const r = await run.migration.start();
    assert.ok(r.source.rounds.length > 0);
    assert.deepEqual(
      r.destination.devices.map((d) => d.digest),
      r.source.devices.map((d) => d.digest),
    );
    assert.deepEqual(run.source.states, ['STOP', 'STOP']);
    assert.deepEqual(run.destination.states, ['RUNNING', 'RUNNING']);
    assert.ok(r.downtimeMs > 0);
  } finally {
    await run.close();
  }
});

Deno.test('the connection cut mid pre-copy: the source runs again, the destination is reset', async () => {
  const to = ['sim:nic,size=8m,dirty=0'];
  const fresh = await freshDigests(to);
  const ends = await prepareEnds(['sim:nic,size=8m'], to, {
    proxy: true,
    source: { idleMs: 3000 },
    destination: { idleMs: 3000 },
  });
  let cut = false;
  ends.src.on('phase', ({ phase }) => {
    if (phase === 'precopy' && !cut) {
      cut = true;
      setTimeout(() => ends.proxy!.cut(), 100);
    }
  });
  try {
    const [s, d] = await ends.run();
    assert.equal(s.status, 'rejected');
    assert.equal(d.status, 'rejected');
    assert.deepEqual(ends.source.states, ['RUNNING']);
    assert.deepEqual(await ends.destination.stateDigests(), fresh);
  } finally {
    await ends.close();
  }
});

Deno.test('a device the destination cannot take: refused on both ends, no arc anywhere', async () => {
  const ends = await prepareEnds(['sim:nic,size=1m'], ['sim:gpu,size=1m']);
  try {
    const [s, d] = await ends.run();
    assert.equal(s.status, 'rejected');
    assert.equal(d.status, 'rejected');
    assert.ok((s as PromiseRejectedResult).reason instanceof MigrationRefusedError);
    assert.deepEqual(ends.arcs, []);
  } finally {
    await ends.close();
  }
});
