// A Node.js older than the package supports (22.12), to start the `vfio-migrate` launcher as a fresh checkout's
// system Node does. Looked for where one reliably is: VFIO_MIGRATE_OLD_NODE, the Node 20 that .ci/run installs
// into build/old-node when the system has none older, the system's own (Debian 12 and 13 ship Node 20), then PATH.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import process from 'node:process';

const ROOT = new URL('../..', import.meta.url).pathname;

function versionOf(node: string): [number, number] | undefined {
  const r = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const [major = 0, minor = 0] = r.stdout.trim().split('.').map(Number);
  return [major, minor];
}

/** The path of a Node older than 22.12, or undefined (with where it looked) when this machine has none. */
export function findOldNode(): { node: string | undefined; looked: string[] } {
  const candidates = [
    process.env.VFIO_MIGRATE_OLD_NODE,
    join(ROOT, 'build/old-node/node_modules', `node-${process.platform}-${process.arch}`, 'bin/node'),
    '/usr/bin/node',
    '/usr/local/bin/node',
    // npm scripts put node_modules/.bin (the pinned Node) first on PATH: not that one
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter((d) => d && !d.includes('node_modules'))
      .map((d) => join(d, 'node')),
  ].filter((c): c is string => Boolean(c));
  for (const node of candidates) {
    if (!existsSync(node)) continue;
    const v = versionOf(node);
    if (v && (v[0] < 22 || (v[0] === 22 && v[1] < 12))) return { node, looked: candidates };
  }
  return { node: undefined, looked: candidates };
}
