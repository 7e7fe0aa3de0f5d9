// Where a worker thread's entry module is: beside the module that starts it, as `.ts` when the sources run (Node's
// type stripping, Deno) and as `.js` once built (dist/, and the bin's bundle in dist/bin/, whose chunks sit beside its
// worker entries). One place for the rule: a `.ts` URL left in the built package once broke the Deno FFI's I/O thread.

/** The URL of worker entry `name` beside the module whose `import.meta.url` is `besideModule`. */
export function workerEntryUrl(name: string, besideModule: string): URL {
  return new URL(`./${name}.${besideModule.endsWith('.ts') ? 'ts' : 'js'}`, besideModule);
}
