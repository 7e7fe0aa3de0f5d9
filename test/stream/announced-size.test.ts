// A section whose device vouched for an exact size (format 1.1) but that holds another size verifies chunk by chunk,
// yet its device's own count disagrees: load and inspect say so loudly. An estimate (the uAPI's MIG_DATA_SIZE) that
// differs is normal and says nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sinkFromCallback } from '../../src/pipeline/byte-endpoints.ts';
import { loadStream } from '../../src/pipeline/stream-loader.ts';
import { StreamSaver } from '../../src/pipeline/stream-saver.ts';
import { inspectStream } from '../../src/stream/index.ts';
import { runCliCaptured } from '../helpers/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'vfm-announced-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function streamOf(data: Uint8Array, expectedBytes: number, exact: boolean): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const saver = await StreamSaver.open(
    sinkFromCallback((d) => void parts.push(d)),
    { workers: 0 },
  );
  await saver.section('stop-copy', [data], { expectedBytes, exact });
  await saver.finish();
  return new Uint8Array(Buffer.concat(parts));
}

const data = new Uint8Array(300_000).map((_, i) => i * 13);

describe('a section of another size than its device announced', () => {
  it('exact: inspect and load report a warning (the data still verifies)', async () => {
    const stream = await streamOf(data, data.length + 4096, true);
    const report = await inspectStream([stream]);
    expect(report.ok).toBe(true);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatch(/holds 300000 bytes, but the device announced exactly 304096/);

    const told: string[] = [];
    const loaded = await loadStream(
      [stream],
      sinkFromCallback(() => {}),
      { workers: 0, onWarning: (w) => told.push(w) },
    );
    expect(loaded.warnings).toEqual(told);
    expect(told).toHaveLength(1);

    const file = join(dir, 'short.vfm');
    writeFileSync(file, stream);
    const run = await runCliCaptured(['inspect', file]);
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/WARNING: section 0 \(stop-copy\) holds 300000 bytes/);
    expect(run.out).toMatch(/WARNING/);
  });

  it('an estimate that differs, or an exact size that matches, says nothing', async () => {
    for (const stream of [await streamOf(data, data.length + 4096, false), await streamOf(data, data.length, true)]) {
      const report = await inspectStream([stream]);
      expect(report.ok).toBe(true);
      expect(report.warnings).toEqual([]);
    }
  });
});
