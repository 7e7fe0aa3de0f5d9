// Where a worker thread's entry module is: beside the module that starts it, as `.ts` when the sources run (Node's
// type stripping, Deno) and as `.js` once built (dist/, and the bin's bundle in dist/bin/, whose chunks sit beside its
// worker entries). One place for the rule: a `.ts` URL left in the built package once broke the Deno FFI's I/O thread.
import nodeModule from 'node:module';
import { dirname } from 'node:path';
import process from 'node:process';

/** The URL of worker entry `name` beside the module whose `import.meta.url` is `besideModule`. */
export function workerEntryUrl(name: string, besideModule: string): URL {
  return new URL(`./${name}.${besideModule.endsWith('.ts') ? 'ts' : 'js'}`, besideModule);
}

/**
 * The environment every worker thread is started with: the process's, plus NODE_COMPILE_CACHE when this thread
 * caches compiled code (the launcher turns Node's cache on). A worker does not inherit the cache from the thread
 * that starts it, only from its environment; with it, a simulated device's thread boots about 10 ms sooner.
 */
export function workerEnv(): Record<string, string | undefined> | undefined {
  const dir = nodeModule.getCompileCacheDir?.();
  if (!dir || process.env.NODE_COMPILE_CACHE) return undefined;
  // the cache's own directory is a per-version subdirectory of the one the variable names
  return { ...process.env, NODE_COMPILE_CACHE: dirname(dir) };
}
