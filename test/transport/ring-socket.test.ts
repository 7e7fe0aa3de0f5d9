// A socket read into a bounded ring (a simulated device's data socket, a pipe on stdin): the kernel reads into the
// ring's free stretch, and reading stops while the ring is full. Proved against a real UNIX socket whose writer
// outruns a reader that takes odd amounts at odd times.
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RingSocket } from '../../src/transport/ring-socket.ts';

const scratch = mkdtempSync(join(tmpdir(), 'vfm-host-socket-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let sockets = 0;

/** A server on a fresh path that runs `serve` on its one connection. */
function serveOnce(serve: (s: Socket) => void): Promise<{ path: string; server: net.Server }> {
  const path = join(scratch, `s${++sockets}.sock`);
  const server = net.createServer((s) => {
    s.on('error', () => {});
    serve(s);
  });
  return new Promise((resolve) => server.listen(path, () => resolve({ path, server })));
}

/** Deterministic bytes: byte i of the pattern. */
const patternByte = (i: number) => (i * 2654435761) >>> 24;

function nextRng(seed: number): () => number {
  let s = seed || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function changed(host: RingSocket): Promise<void> {
  return new Promise((resolve) => {
    const off = host.onChange(() => {
      off();
      resolve();
    });
  });
}

describe('RingSocket', () => {
  it.each([1, 2, 3])(
    'seed %i: every byte arrives in order through a full, wrapping ring, and what it holds stays bounded',
    async (seed) => {
      const total = 6 * 1024 * 1024 + 12345;
      const capacity = 100 * 1024;
      const rng = nextRng(seed * 7919);
      const { path, server } = await serveOnce((s) => {
        // the writer sends in uneven pieces, as fast as the socket takes them
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            const n = Math.min(total - sent, 1 + (rng() % 200_000));
            const piece = new Uint8Array(n);
            for (let i = 0; i < n; i++) piece[i] = patternByte(sent + i);
            sent += n;
            if (!s.write(piece)) return void s.once('drain', pump);
          }
          s.end();
        };
        pump();
      });
      try {
        const host = await RingSocket.connect(path, capacity);
        const into = new Uint8Array(300_000);
        let got = 0;
        let maxHeld = 0;
        let bad = -1;
        for (;;) {
          maxHeld = Math.max(maxHeld, host.buffered);
          const n = host.take(into, 1 + (rng() % into.length));
          for (let i = 0; i < n && bad < 0; i++) if (into[i] !== patternByte(got + i)) bad = got + i;
          got += n;
          if (n === 0) {
            if (host.drainedEnd) break;
            await changed(host);
          } else if (rng() % 8 === 0) {
            // a slow reader now and then: the writer fills the ring and the kernel, and must wait
            await new Promise((r) => setTimeout(r, 1));
          }
        }
        expect(bad).toBe(-1);
        expect(got).toBe(total);
        // the ring and the one read buffer the kernel fills, never more
        expect(maxHeld).toBeGreaterThan(capacity / 2);
        expect(maxHeld).toBeLessThanOrEqual(capacity + 64 * 1024);
        expect(host.error).toBeNull();
      } finally {
        server.close();
      }
    },
  );

  it('readExactly takes the first bytes and leaves the rest for take()', async () => {
    const { path, server } = await serveOnce((s) => s.end(Buffer.from('0123456789abcdef-rest')));
    try {
      const host = await RingSocket.connect(path, 64 * 1024);
      const first = await host.readExactly(16, { timeoutMs: 5000, what: 'the key' });
      expect(Buffer.from(first).toString()).toBe('0123456789abcdef');
      while (!host.drainedEnd && host.buffered < 5) await changed(host);
      const rest = new Uint8Array(64);
      expect(Buffer.from(rest.subarray(0, host.take(rest))).toString()).toBe('-rest');
    } finally {
      server.close();
    }
  });

  it('readExactly fails on an end before the bytes, and on a timeout', async () => {
    const short = await serveOnce((s) => s.end(Buffer.from('abc')));
    const silent = await serveOnce(() => {});
    try {
      const a = await RingSocket.connect(short.path, 64 * 1024);
      await expect(a.readExactly(16, { timeoutMs: 5000, what: 'the key' })).rejects.toThrow(
        /closed the connection inside the key/,
      );
      const b = await RingSocket.connect(silent.path, 64 * 1024);
      await expect(b.readExactly(16, { timeoutMs: 50, what: 'the key' })).rejects.toThrow(/no the key within 50 ms/);
      b.destroy();
    } finally {
      short.server.close();
      silent.server.close();
    }
  });

  it('connect() fails with the socket error when nobody listens, and an aborted connect says so', async () => {
    await expect(RingSocket.connect(join(scratch, 'nobody.sock'), 1024)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const { path, server } = await serveOnce(() => {});
    try {
      await expect(RingSocket.connect(path, 1024, AbortSignal.abort())).rejects.toMatchObject({
        code: 'VFM_ABORTED',
      });
    } finally {
      server.close();
    }
  });
});
