import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportIoError } from '../../src/errors.ts';
import { openFileSink, openFileSource } from '../../src/transport/file-transport.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vfm-file-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file transport', () => {
  it('publishes a file only once the stream is complete', async () => {
    const path = join(dir, 'a.vfm');
    const sink = await openFileSink(path);
    await sink.write(Buffer.from('hello '));
    expect(existsSync(path)).toBe(false);
    await sink.write(Buffer.from('world'));
    await sink.end();
    expect(readFileSync(path, 'utf8')).toBe('hello world');
    expect(readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('leaves an existing file untouched and no partial file behind when aborted', async () => {
    const path = join(dir, 'keep.vfm');
    writeFileSync(path, 'previous checkpoint');
    const sink = await openFileSink(path);
    await sink.write(Buffer.alloc(1000, 1));
    await sink.abort(new Error('device failed'));
    expect(readFileSync(path, 'utf8')).toBe('previous checkpoint');
    expect(readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('writes into a named pipe in place', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = (async () => {
      const src = await openFileSource(fifo);
      const buf = new Uint8Array(100);
      let text = '';
      for (let n = await src.read(buf); n > 0; n = await src.read(buf)) text += Buffer.from(buf.subarray(0, n));
      await src.close();
      return text;
    })();
    const sink = await openFileSink(fifo);
    await sink.write(Buffer.from('through a fifo'));
    await sink.end();
    expect(await reader).toBe('through a fifo');
  });

  it('names the path in a typed error when the file cannot be opened', async () => {
    await expect(openFileSource(join(dir, 'missing.vfm'))).rejects.toMatchObject({
      code: 'VFM_TRANSPORT_IO',
      endpoint: join(dir, 'missing.vfm'),
    });
    await expect(openFileSink(join(dir, 'no', 'such', 'dir.vfm'))).rejects.toBeInstanceOf(TransportIoError);
  });
});
