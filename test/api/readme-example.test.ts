// The README's library example, run as written (paths in a temp dir), so the README cannot drift from the API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  DeviceState,
  loadDevice,
  MigrationFlag,
  openDevice,
  openSink,
  openSource,
  saveDevice,
  transitionPath,
} from '../../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vfm-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs the README library example: the destination holds the source state', async () => {
  expect(
    transitionPath(MigrationFlag.STOP_COPY | MigrationFlag.P2P, DeviceState.RUNNING, DeviceState.STOP_COPY),
  ).toEqual({ ok: true, path: [5, 1, 3] });
  const file = join(dir, 'nic.vfm');
  const src = await openDevice('sim:nic,seed=7');
  const dst = await openDevice('sim:nic,seed=7', { role: 'destination' });
  const { opened } = await src.setState('PRE_COPY');
  expect(opened?.kind).toBe('saving');
  const info = await src.precopyInfo();
  expect(info.initialBytes).toBeGreaterThan(0n);
  await src.setState('RUNNING');
  expect(src.session).toBeNull();

  const controller = new AbortController();
  const progress: number[] = [];
  const saved = await saveDevice(src, await openSink(file), {
    codec: 'zstd',
    precopy: true,
    signal: controller.signal,
  });
  const loaded = await loadDevice(await openSource(file), dst, { onProgress: (p) => void progress.push(p.bytes) });
  expect(saved.digest).toMatch(/^[0-9a-f]{64}$/);
  expect(saved.digest === loaded.digest).toBe(true);
  expect(progress.at(-1)).toBe(loaded.bytes);
  await Promise.all([src.close(), dst.close()]);
});
