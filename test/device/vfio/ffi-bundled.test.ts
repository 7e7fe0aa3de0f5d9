// The FFI as the bin runs it: from its bundle (dist/bin/), where koffi stays an import of the installed package.
// A syscall through it proves the chunk loads koffi and binds libc there. Needs the build (`npm test` builds first).
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Libc } from '../../../src/device/vfio/ffi.ts';

const BIN_DIR = new URL('../../../dist/bin/', import.meta.url);

describe("the bin bundle's FFI", () => {
  it('reads /dev/zero through koffi, off the event loop', async () => {
    // the chunk that exports loadNodeLibc (its name carries a content hash)
    const chunk = readdirSync(BIN_DIR).find((f) => /^ffi-node-[A-Z0-9]+\.js$/.test(f));
    expect(chunk, `an ffi-node chunk in ${BIN_DIR.pathname}`).toBeDefined();
    const { loadNodeLibc } = (await import(new URL(chunk!, BIN_DIR).href)) as { loadNodeLibc(): Promise<Libc> };
    const libc = await loadNodeLibc();
    const fd = libc.open('/dev/zero', 0).ret;
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      const buf = new Uint8Array(4096).fill(7);
      expect(await libc.readAsync(fd, buf)).toEqual({ ret: 4096, errno: 0 });
      expect(buf.every((b) => b === 0)).toBe(true);
    } finally {
      libc.close(fd);
    }
  });
});
