// Deno: the built package (what `npm:vfio-migrate` runs), not the sources. Its threads are started from URLs beside
// the module that starts them; these prove each one is there, in dist/ and in the bin's bundle (dist/bin/).
// Needs the build (`npm test` builds first).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

declare const Deno: {
  test(name: string, fn: () => void | Promise<void>): void;
  execPath(): string;
  Command: new (
    cmd: string,
    opts: { args: string[]; stdout: 'piped'; stderr: 'piped' },
  ) => { output(): Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }> };
};

interface DenoLibc {
  open(path: string, flags: number): { ret: number; errno: number };
  close(fd: number): { ret: number; errno: number };
  readAsync(fd: number, buf: Uint8Array): Promise<{ ret: number; errno: number }>;
}

const DIST = new URL('../../dist/', import.meta.url);
const BIN_DIR = new URL('bin/', DIST);

/** read(2) of /dev/zero through the FFI's I/O thread (the path a real device's data fd takes under Deno). */
async function readZeroThroughIoThread(libc: DenoLibc): Promise<void> {
  const fd = libc.open('/dev/zero', 0).ret;
  assert.ok(fd >= 0, 'open /dev/zero');
  try {
    const buf = new Uint8Array(4096).fill(7);
    const r = await libc.readAsync(fd, buf);
    assert.deepEqual(r, { ret: 4096, errno: 0 });
    assert.ok(buf.every((b) => b === 0));
  } finally {
    libc.close(fd);
  }
}

Deno.test('the FFI I/O thread of the compiled package (dist/) starts', async () => {
  const { loadDenoLibc } = (await import(new URL('device/vfio/ffi-deno.js', DIST).href)) as {
    loadDenoLibc(): DenoLibc;
  };
  await readZeroThroughIoThread(loadDenoLibc());
});

Deno.test("the FFI I/O thread of the bin's bundle (dist/bin/) starts", async () => {
  // the bundle's chunk that exports loadDenoLibc (its name carries a content hash)
  const chunk = readdirSync(BIN_DIR).find((f) => /^ffi-deno-[A-Z0-9]+\.js$/.test(f));
  assert.ok(chunk, `no ffi-deno chunk in ${BIN_DIR.pathname}`);
  const { loadDenoLibc } = (await import(new URL(chunk, BIN_DIR).href)) as { loadDenoLibc(): DenoLibc };
  await readZeroThroughIoThread(loadDenoLibc());
});

Deno.test('the bin saves and loads a simulated device with codec threads under Deno', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vfm-deno-bin-'));
  try {
    const file = join(dir, 'state.vfm');
    const launcher = new URL('cli/launcher.js', DIST).pathname;
    for (const args of [
      ['save', '--device', 'sim:gpu,size=4m', '--workers', '2', '-o', file, '--json'],
      ['load', '--device', 'sim:gpu,size=4m', '--workers', '2', '-i', file, '--json'],
    ]) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ['run', '-A', launcher, ...args],
        stdout: 'piped',
        stderr: 'piped',
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, `${args[0]}: ${stderr}`);
      const result = JSON.parse(new TextDecoder().decode(r.stdout));
      assert.equal(result.ok, true, stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
