import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
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

  it('creates a new checkpoint 0600 (device state can hold secrets)', async () => {
    const path = join(dir, 'new.vfm');
    const sink = await openFileSink(path);
    await sink.write(Buffer.from('state'));
    await sink.end();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('keeps the mode of a file it replaces', async () => {
    const path = join(dir, 'shared.vfm');
    writeFileSync(path, 'old');
    chmodSync(path, 0o640);
    const sink = await openFileSink(path);
    await sink.write(Buffer.from('new'));
    await sink.end();
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  it('writes through a symlink: the target is replaced and the link stays a link', async () => {
    const real = join(dir, 'real.vfm');
    const link = join(dir, 'latest.vfm');
    writeFileSync(real, 'old');
    symlinkSync('real.vfm', link);
    const sink = await openFileSink(link);
    await sink.write(Buffer.from('new'));
    await sink.end();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('new');
    expect(readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('refuses a dangling symlink instead of guessing where to write', async () => {
    const link = join(dir, 'dangling.vfm');
    symlinkSync('nowhere/at/all.vfm', link);
    await expect(openFileSink(link)).rejects.toThrow(/dangling/);
  });

  it('--no-clobber: refuses an existing file, untouched, with VFM_OUTPUT_EXISTS', async () => {
    const path = join(dir, 'precious.vfm');
    writeFileSync(path, 'precious');
    await expect(openFileSink(path, { exclusive: true })).rejects.toMatchObject({ code: 'VFM_OUTPUT_EXISTS' });
    // and atomically at the end, if the file appears while the save runs
    const late = join(dir, 'late.vfm');
    const sink = await openFileSink(late, { exclusive: true });
    await sink.write(Buffer.from('mine'));
    writeFileSync(late, 'theirs');
    await expect(sink.end()).rejects.toMatchObject({ code: 'VFM_OUTPUT_EXISTS' });
    expect(readFileSync(late, 'utf8')).toBe('theirs');
    expect(readFileSync(path, 'utf8')).toBe('precious');
    expect(readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it("removes the partial file a killed save left, when the next save to that name starts (not a live one's)", async () => {
    const path = join(dir, 'killed.vfm');
    // a writer that is gone (a PID that is not running) and one that is (this process)
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, `.killed.vfm.partial-${dead}-abcdef`), 'half a stream');
    writeFileSync(join(dir, `.killed.vfm.partial-${process.pid}-012345`), 'a save in progress');
    const sink = await openFileSink(path);
    expect(readdirSync(dir).filter((n) => n.startsWith('.killed.vfm.partial-') && n.includes(`-${dead}-`))).toEqual([]);
    expect(existsSync(join(dir, `.killed.vfm.partial-${process.pid}-012345`))).toBe(true);
    await sink.abort();
    rmSync(join(dir, `.killed.vfm.partial-${process.pid}-012345`));
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
