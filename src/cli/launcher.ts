#!/usr/bin/env node
// The `vfio-migrate` bin. Plain enough for any Node: when the Node running it is older than the project supports
// (the system Node in a fresh checkout), it re-runs the CLI under the Node LTS the project pins as a dev dependency.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const MIN: readonly [number, number] = [22, 12];

function supported(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1]);
}

function pinnedNode(): string | undefined {
  try {
    const bin = createRequire(import.meta.url).resolve('node/bin/node');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const mainScript = fileURLToPath(new URL('./main.js', import.meta.url));

if (supported(process.versions.node)) {
  const { main } = await import('./main.ts');
  await main();
} else {
  const node = pinnedNode();
  if (!node) {
    process.stderr.write(
      `vfio-migrate needs Node.js ${MIN.join('.')} or newer (or Deno 2); this is Node.js ${process.versions.node}.\n`,
    );
    process.exit(70);
  }
  const r = spawnSync(node, [mainScript, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.error) throw r.error;
  process.exit(r.status ?? (r.signal ? 128 : 70));
}
