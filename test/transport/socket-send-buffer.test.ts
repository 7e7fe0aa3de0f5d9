// A local stream socket's send buffer grown through the FFI (socket-send-buffer.ts), for a simulated device's data
// socket. What the kernel does with it is observed, not asked: with its reader asleep, a writer's socket takes as much
// as its send buffer holds, and what it cannot take stays queued in the process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { GROWN_SEND_BUFFER, growSendBuffer } from '../../src/transport/socket-send-buffer.ts';

const dirs: string[] = [];
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A connected pair over a UNIX socket whose accepting end never reads. */
async function pairWithSleepingReader(): Promise<net.Socket> {
  const dir = mkdtempSync(join(tmpdir(), 'vfm-sndbuf-'));
  dirs.push(dir);
  const path = join(dir, 's');
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const writer = net.createConnection(path);
  await new Promise((resolve) => writer.once('connect', resolve));
  const reader = await accepted;
  closers.push(() => {
    writer.destroy();
    reader.destroy();
    server.close();
  });
  return writer;
}

/** Writes `bytes` at once and returns what the kernel left queued in the process once it stopped taking more. */
async function leftQueued(writer: net.Socket, bytes: number): Promise<number> {
  writer.write(new Uint8Array(bytes));
  let last = -1;
  for (let i = 0; i < 200 && writer.writableLength !== last; i++) {
    last = writer.writableLength;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return writer.writableLength;
}

describe('growSendBuffer', () => {
  it('lets a writer hand the kernel a whole megabyte its sleeping reader has not read, which it could not before', async () => {
    const before = await pairWithSleepingReader();
    expect(await leftQueued(before, GROWN_SEND_BUFFER)).toBeGreaterThan(GROWN_SEND_BUFFER / 2);

    const grown = await pairWithSleepingReader();
    expect(await growSendBuffer(grown)).toBe(true);
    expect(await leftQueued(grown, GROWN_SEND_BUFFER)).toBe(0);
  });

  it('leaves a closed socket alone and says so', async () => {
    const writer = await pairWithSleepingReader();
    writer.destroy();
    expect(await growSendBuffer(writer)).toBe(false);
  });

  it('leaves a socket with no descriptor alone (a runtime that does not expose one)', async () => {
    expect(await growSendBuffer(new net.Socket())).toBe(false);
  });

  it.each([
    ['without --allow-ffi, neither asks for the permission nor fails: the socket keeps its size', [], false],
    ['with --allow-ffi, grows it through Deno.dlopen', ['--allow-ffi'], true],
  ] as const)('under Deno %s', (_, extra, grown) => {
    const deno = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
    const module = fileURLToPath(new URL('../../src/transport/socket-send-buffer.ts', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'vfm-sndbuf-deno-'));
    dirs.push(dir);
    const script = `
      import net from 'node:net';
      import { growSendBuffer } from ${JSON.stringify(module)};
      const path = ${JSON.stringify(join(dir, 's'))};
      const server = net.createServer(() => {});
      await new Promise((resolve) => server.listen(path, resolve));
      const socket = net.createConnection(path);
      await new Promise((resolve) => socket.once('connect', resolve));
      console.log(JSON.stringify({ grown: await growSendBuffer(socket) }));
      socket.destroy();
      server.close();
    `;
    const file = join(dir, 'grow.ts');
    writeFileSync(file, script);
    // every permission the script needs, FFI only when asked (`deno eval` would grant them all); --no-prompt turns a
    // would-be prompt into a failure
    const permissions = ['--allow-read', '--allow-write', '--allow-env', '--allow-net', ...extra];
    const r = spawnSync(deno, ['run', '--no-prompt', ...permissions, file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ grown });
  });
});
