#!/usr/bin/env node
// The `vfio-migrate` bin. Plain enough for any Node: when the Node running it is older than the project supports
// (the system Node in a fresh checkout), it re-runs the CLI under the Node LTS the project pins as a dev dependency,
// passes SIGINT/SIGTERM/SIGHUP on to it, waits for it, and exits as it did (128 + N when signal N ended it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
// a default import: a named import of a function an older Node lacks (enableCompileCache) would fail to link there
import nodeModule from 'node:module';
import { constants } from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const MIN: readonly [number, number] = [22, 12];
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function supported(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1]);
}

function pinnedNode(): string | undefined {
  try {
    const bin = nodeModule.createRequire(import.meta.url).resolve('node/bin/node');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The CLI's entry: the bundle `npm run build` writes to dist/bin (a save loads 16 files instead of 121 modules and
 * starts about 45 ms sooner), else this directory's main module (from source, or a build without the bundle).
 */
function mainEntry(): URL {
  if (import.meta.url.endsWith('.ts')) return new URL('./main.ts', import.meta.url);
  const bundled = new URL('../bin/main.js', import.meta.url);
  return existsSync(bundled) ? bundled : new URL('./main.js', import.meta.url);
}

/** Runs the CLI in a child under `node` and mirrors its end; the launcher itself ends only when the child has. */
function runUnder(node: string): void {
  const mainScript = fileURLToPath(mainEntry());
  const child = spawn(node, [mainScript, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Without these handlers a signal would end the launcher and orphan the child, which would go on (and, for a
  // save, finish writing). The child stops cleanly on the first of them; a terminal's Ctrl-C reaches it directly
  // as well, and the CLI takes the two as one request.
  for (const sig of FORWARDED) {
    process.on(sig, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    });
  }
  child.on('error', (err) => {
    process.stderr.write(`vfio-migrate: cannot run ${node}: ${err.message}\n`);
    process.exit(70);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
  });
}

if (supported(process.versions.node)) {
  // Node's own cache of compiled code (in the temporary directory, keyed by content; NODE_DISABLE_COMPILE_CACHE turns
  // it off): about 25 ms of a small save's start before the bundle.
  nodeModule.enableCompileCache?.();
  const { main } = (await import(mainEntry().href)) as typeof import('./main.ts');
  await main();
} else {
  const node = pinnedNode();
  if (!node) {
    process.stderr.write(
      `vfio-migrate needs Node.js ${MIN.join('.')} or newer (or Deno 2); this is Node.js ${process.versions.node}.\n`,
    );
    process.exit(70);
  }
  runUnder(node);
}
