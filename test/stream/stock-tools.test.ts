// Interop with the stock tools: `zstd -d` / `lz4 -d` of a saved stream give back exactly the device bytes (they
// skip our metadata frames), and frames the tools write decode with our ChunkDecoder.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { xxh64 } from '../../src/core/index.ts';
import { ChunkDecoder, type Codec, createStreamHeader } from '../../src/stream/index.ts';
import { deviceBytes, encodeAll, FIXED_64K } from './stream-fixtures.ts';

function available(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) {
    // under CI the tools are installed by .ci/run: missing is a failure, not a skip
    if (process.env.CI) throw new Error(`${tool} is required under CI (apt-get install ${tool})`);
    console.warn(`skipping ${tool} interop: ${tool} is not installed`);
    return false;
  }
  return true;
}

const dir = mkdtempSync(join(tmpdir(), 'vfm-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DATA = deviceBytes(5 * 65536 + 777, 21);

const cases: [Codec, string][] = [
  ['zstd', 'zstd'],
  ['none', 'zstd'],
  ['lz4', 'lz4'],
];

describe.each(cases)('%s stream through `%s -d`', (codec, tool) => {
  it.skipIf(!available(tool))('reproduces the device bytes exactly', async () => {
    const file = join(dir, `s-${codec}.vfm`);
    writeFileSync(file, await encodeAll(DATA, { codec, chunking: FIXED_64K, device: { id: 'sim:nic' } }));
    const out = execFileSync(tool, ['-d', '-c', file], { maxBuffer: 64 << 20 });
    expect(Buffer.compare(out, DATA)).toBe(0);
  });

  it.skipIf(!available(tool))('the tool rejects a stream with a damaged data frame', async () => {
    const bytes = await encodeAll(DATA, { codec, chunking: FIXED_64K });
    bytes[bytes.length - 4000]! ^= 0x10; // inside the last data frame (stored noise)
    const file = join(dir, `bad-${codec}.vfm`);
    writeFileSync(file, bytes);
    expect(spawnSync(tool, ['-d', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }).status).not.toBe(0);
  });
});

describe('frames written by the stock tools decode with ChunkDecoder', () => {
  const raw = deviceBytes(3 * 65536, 5).subarray(0, 100_000);
  for (const [codec, tool, args] of [
    ['zstd', 'zstd', ['-q', '-c', '-3']],
    ['zstd', 'zstd', ['-q', '-c', '--no-check', '-19']],
    ['lz4', 'lz4', ['-q', '-c', '-1']],
    ['lz4', 'lz4', ['-q', '-c', '-9', '-BD', '-BX', '--content-size']],
  ] as const) {
    it.skipIf(!available(tool))(`${tool} ${args.join(' ')}`, async () => {
      const input = join(dir, 'raw.bin');
      writeFileSync(input, raw);
      const frame = new Uint8Array(execFileSync(tool, [...args, input]));
      const header = createStreamHeader({
        codec,
        chunking: { mode: 'fixed', size: 1 << 17, min: 1 << 17, max: 1 << 17 },
      });
      const dec = await ChunkDecoder.create(header);
      const descriptor = {
        seq: 0,
        rawOffset: 0,
        rawLength: raw.length,
        encodedLength: frame.length,
        rawHash: xxh64(raw),
        zero: false,
        stored: false,
      };
      expect(Buffer.compare(dec.decode({ descriptor, data: frame, dataOffset: 52 }), raw)).toBe(0);
      // and the same frame with one flipped bit in its payload is refused
      const bad = frame.slice();
      bad[Math.floor(bad.length / 2)]! ^= 4;
      expect(() => dec.decode({ descriptor, data: bad, dataOffset: 52 })).toThrow(/stream offset/);
    });
  }
  it('reads back what the tools need no help with (sanity of the fixture file)', () => {
    expect(readFileSync(join(dir, 'raw.bin')).length).toBe(100_000);
  });
});
