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
 * Where one of the CLI's entry modules is: the bundle `npm run build` writes to dist/bin (a save loads 16 files
 * instead of 121 modules and starts about 45 ms sooner), else this directory's module (from source, or a build
 * without the bundle).
 */
function cliEntry(name: 'main' | 'early-start'): URL {
  if (import.meta.url.endsWith('.ts')) return new URL(`./${name}.ts`, import.meta.url);
  const bundled = new URL(`../bin/${name}.js`, import.meta.url);
  return existsSync(bundled) ? bundled : new URL(`./${name}.js`, import.meta.url);
}

/** Runs the CLI in a child under `node` and mirrors its end; the launcher itself ends only when the child has. */
function runUnder(node: string): void {
  const mainScript = fileURLToPath(cliEntry('main'));
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
  // The device threads first: they boot on the other core while this one loads the CLI (about 15 ms sooner than
  // main could start them, since main's whole module graph loads before any of it runs).
  const { startEarly } = (await import(cliEntry('early-start').href)) as typeof import('./early-start.ts');
  startEarly(process.argv.slice(2));
  const { main } = (await import(cliEntry('main').href)) as typeof import('./main.ts');
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
