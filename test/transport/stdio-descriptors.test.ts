// The process's stdin and stdout as a stream's ends (stdio-transport.ts, fd-endpoints.ts): pipes grown once the
// stream is large, regular files read and written directly. Each case runs a child process whose stdin and stdout
// are a real pipe or a real file, so EOF, partial reads and pipe capacity are the kernel's own.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = (p: string) => fileURLToPath(new URL(`../../src/${p}`, import.meta.url));

// What the child reports about its fd 0 or 1: the pipe's capacity (F_GETPIPE_SZ).
const PROBE = `
import { loadLibc } from ${JSON.stringify(src('device/vfio/ffi.ts'))};
async function probe(fd) {
  return { pipeSize: (await loadLibc()).fcntlVal(fd, 1032, 0).ret };
}
`;

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs `script` with its stdin and stdout real pipes (`cat | node | cat`: a spawned child's stdio would be UNIX
 * sockets); its stderr carries the report.
 */
function runChild(script: string, input?: Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'cat | "$NODE" --input-type=module -e "$SCRIPT" | cat'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE: process.execPath, SCRIPT: PROBE + script },
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.on('error', () => {});
    if (input) child.stdin.write(input);
    child.stdin.end();
  });
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SIZE = 24 << 20;

describe('stdin and stdout', () => {
  it('stdin through a pipe: every byte read, the pipe grown to 1 MiB once the stream is large', async () => {
    const data = randomBytes(SIZE);
    const r = await runChild(
      `
      import { createHash } from 'node:crypto';
      import { openStdinSource } from ${JSON.stringify(src('transport/stdio-transport.ts'))};
      const source = openStdinSource();
      const h = createHash('sha256');
      const buf = new Uint8Array(1 << 20);
      let bytes = 0;
      for (let n; (n = await source.read(buf)) > 0; ) { h.update(buf.subarray(0, n)); bytes += n; }
      const { pipeSize } = await probe(0);
      process.stderr.write(JSON.stringify({ bytes, sha: h.digest('hex'), pipeSize }));
      `,
      data,
    );
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stderr);
    expect(got).toEqual({ bytes: SIZE, sha: sha(data), pipeSize: 1 << 20 });
  });

  it('stdin through a pipe, closed early: fd 0 stays open, and the process exits though the writer has more', async () => {
    const data = randomBytes(SIZE);
    const r = await runChild(
      `
      import { fstatSync } from 'node:fs';
      import { openStdinSource } from ${JSON.stringify(src('transport/stdio-transport.ts'))};
      const source = openStdinSource();
      const buf = new Uint8Array(4096);
      let bytes = 0;
      while (bytes < 100_000) bytes += await source.read(buf);
      await source.close();
      await source.close();
      process.stderr.write(JSON.stringify({ more: await source.read(buf), fifo: fstatSync(0).isFIFO() }));
      `,
      data,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stderr)).toEqual({ more: 0, fifo: true });
  });

  it('stdout through a pipe: every byte written, in order, the pipe grown to 1 MiB', async () => {
    const r = await runChild(`
      import { openStdoutSink } from ${JSON.stringify(src('transport/stdio-transport.ts'))};
      const sink = openStdoutSink();
      const buf = new Uint8Array(3 << 20);
      for (let i = 0; i < 8; i++) { buf.fill(i + 1); await sink.write(buf.subarray(0, (3 << 20) - i)); }
      await sink.end();
      const { pipeSize } = await probe(1);
      process.stderr.write(JSON.stringify({ pipeSize }));
    `);
    expect(r.code, r.stderr).toBe(0);
    const expected = Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.alloc((3 << 20) - i, i + 1)));
    expect(r.stdout.length).toBe(expected.length);
    expect(sha(r.stdout)).toBe(sha(expected));
    expect(JSON.parse(r.stderr)).toEqual({ pipeSize: 1 << 20 });
  });

  it('stdin and stdout as regular files (< FILE, > FILE): read and written directly, every byte in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfm-stdio-'));
    try {
      const data = randomBytes(SIZE + 12345);
      writeFileSync(join(dir, 'in'), data);
      const script = `
        import { openStdinSource, openStdoutSink } from ${JSON.stringify(src('transport/stdio-transport.ts'))};
        const source = openStdinSource();
        const sink = openStdoutSink();
        const buf = new Uint8Array(1 << 20);
        for (let n; (n = await source.read(buf)) > 0; ) await sink.write(buf.subarray(0, n));
        await sink.end();
        await source.close();

      `;
      const r = spawnSync('sh', ['-c', '"$NODE" --input-type=module -e "$SCRIPT" < in > out'], {
        cwd: dir,
        env: { ...process.env, NODE: process.execPath, SCRIPT: script },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(sha(readFileSync(join(dir, 'out')))).toBe(sha(data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file behind stdout that refuses writes (opened read-only) fails the save with VFM_TRANSPORT_IO on stderr, device RUNNING', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfm-stdio-'));
    try {
      writeFileSync(join(dir, 'ro'), 'unchanged');
      const main = src('cli/main.ts');
      const r = spawnSync('sh', ['-c', `"$NODE" "$MAIN" save --device sim:nic,size=8m,dirty=0 -o - --json 1<ro`], {
        cwd: dir,
        env: { ...process.env, NODE: process.execPath, MAIN: main },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).not.toBe(0);
      // with the stream on stdout, the --json report goes to stderr, before the human line
      const result = JSON.parse(r.stderr.split('\n').find((l) => l.startsWith('{"ok"'))!);
      expect(result).toMatchObject({ ok: false, error: { code: 'VFM_TRANSPORT_IO', finalState: 'RUNNING' } });
      expect(readFileSync(join(dir, 'ro'), 'utf8')).toBe('unchanged');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file behind stdin that refuses reads (opened write-only) fails the load with VFM_TRANSPORT_IO before the device is touched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfm-stdio-'));
    try {
      writeFileSync(join(dir, 'wo'), '');
      const main = src('cli/main.ts');
      const r = spawnSync('sh', ['-c', `"$NODE" "$MAIN" load --device sim:nic,size=8m -i - --json 0>wo`], {
        cwd: dir,
        env: { ...process.env, NODE: process.execPath, MAIN: main },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).not.toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: false,
        error: { code: 'VFM_TRANSPORT_IO', finalState: 'RUNNING' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a save into a pipe that fails (the device dies) keeps its --json report out of the stream: stderr only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfm-stdio-'));
    try {
      const main = src('cli/main.ts');
      const r = spawnSync(
        'sh',
        ['-c', `"$NODE" "$MAIN" save --device sim:nic,size=8m,dirty=0,die-at=3000000 -o - --json | cat > out`],
        { cwd: dir, env: { ...process.env, NODE: process.execPath, MAIN: main }, encoding: 'utf8' },
      );
      const report = r.stderr.split('\n').find((l) => l.startsWith('{"ok"'));
      expect(JSON.parse(report!)).toMatchObject({ ok: false, error: { finalState: 'RUNNING' } });
      const written = readFileSync(join(dir, 'out'));
      expect(written.length).toBeGreaterThan(0);
      expect(written.includes('{"ok"')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
