// Where a simulated device's data socket listens. On Linux that is the abstract namespace (a name starting with NUL:
// no file, nothing stale after a crash, no dependence on what file system the temp directory is on). Elsewhere, or
// where the runtime cannot bind abstract names, it is a socket file in a private directory, on the first candidate
// file system that can really hold a socket: a 9p or other network share (the test VM's /tmp) fails with ENXIO.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { ListenFailedError } from '../../errors.ts';

export type SocketPlace = { kind: 'abstract' } | { kind: 'directory'; dir: string };

export interface SocketPlaceCandidates {
  /** Try the abstract namespace first (Linux only). */
  abstract: boolean;
  /** Directories to try in order; each gets a private (0700) subdirectory for its socket file. */
  dirs: readonly string[];
}

/** A data socket's address for one device, and the private directory to remove with it (null when abstract). */
export interface DataSocketAddress {
  /** What `listen()`/`connect()` take: a file path, or an abstract name starting with NUL. */
  readonly path: string;
  readonly dir: string | null;
}

/** Linux: abstract, then the per-user runtime directory, the temp directory and /dev/shm (tmpfs). */
export function defaultSocketPlaceCandidates(): SocketPlaceCandidates {
  const runtimeDir = process.env.XDG_RUNTIME_DIR || undefined;
  if (process.platform === 'linux') {
    return { abstract: true, dirs: unique([runtimeDir, tmpdir(), '/dev/shm']) };
  }
  // Other systems keep the temp directory first, as before.
  return { abstract: false, dirs: unique([tmpdir(), runtimeDir]) };
}

function unique(dirs: (string | undefined)[]): string[] {
  return [...new Set(dirs.filter((d): d is string => !!d))];
}

/** A fresh address in `place`. Abstract names carry 128 random bits (the handshake, not the name, is the guard). */
export function allocateSocketAddress(place: SocketPlace): DataSocketAddress {
  if (place.kind === 'abstract') {
    return { path: `\0vfio-migrate/sim/${process.pid}/${randomBytes(16).toString('hex')}`, dir: null };
  }
  // mkdtemp creates the directory 0700: only this user (and root) can reach the socket file.
  const dir = mkdtempSync(join(place.dir, 'vfm-sim-'));
  return { path: join(dir, 'data.sock'), dir };
}

export function releaseSocketAddress(address: DataSocketAddress): void {
  if (address.dir) rmSync(address.dir, { recursive: true, force: true });
}

/** How a place appears in messages. */
export function describeSocketPlace(place: SocketPlace): string {
  return place.kind === 'abstract' ? 'the abstract socket namespace' : place.dir;
}

const PROBE_TIMEOUT_MS = 10_000;

/** Listens on a fresh address in `place` and connects to it: resolves if both work, rejects with why not. */
export async function probeSocketPlace(place: SocketPlace): Promise<void> {
  const address = allocateSocketAddress(place);
  const server = net.createServer((s) => s.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.path, () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      const socket = net.createConnection({ path: address.path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connecting took over ${PROBE_TIMEOUT_MS} ms`));
      }, PROBE_TIMEOUT_MS);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      });
    });
  } finally {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    releaseSocketAddress(address);
  }
}

/** The first candidate place where a socket really works; ListenFailedError says why each one did not. */
export async function findSocketPlace(candidates: SocketPlaceCandidates): Promise<SocketPlace> {
  const places: SocketPlace[] = [
    ...(candidates.abstract ? [{ kind: 'abstract' } as const] : []),
    ...candidates.dirs.map((dir) => ({ kind: 'directory', dir }) as const),
  ];
  const failures: string[] = [];
  for (const place of places) {
    try {
      await probeSocketPlace(place);
      return place;
    } catch (err) {
      failures.push(`${describeSocketPlace(place)}: ${(err as Error).message}`);
    }
  }
  throw new ListenFailedError(
    'a simulated device data socket',
    failures.length ? `no place here can hold a UNIX socket (${failures.join('; ')})` : 'no candidate places',
  );
}

let defaultPlace: Promise<SocketPlace> | null = null;

/** The default place, probed once per process (the runtime and file systems do not change under us). */
export function defaultSocketPlace(): Promise<SocketPlace> {
  if (!defaultPlace) {
    const probing = findSocketPlace(defaultSocketPlaceCandidates());
    defaultPlace = probing;
    // A failure is not kept: the next device probes again (a runtime directory may have appeared).
    probing.catch(() => {
      if (defaultPlace === probing) defaultPlace = null;
    });
  }
  return defaultPlace;
}
