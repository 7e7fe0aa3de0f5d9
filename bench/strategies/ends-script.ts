// The pipeline-alone ends run as JavaScript, as the package and the CLI do: started as TypeScript, each process first
// loads the runtime's type stripper (140 ms of a 194 ms start here), which the native twins have no equivalent of.

import { readFileSync, writeFileSync } from 'node:fs';
import nodeModule from 'node:module';
import { join } from 'node:path';

/** Where the JavaScript copy of bench/pipeline-ends.ts goes: beside it, so its `../dist` imports resolve the same. */
export function pipelineEndsScript(root: string): string {
  return join(root, 'bench/pipeline-ends.generated.mjs');
}

/** Writes the JavaScript copy of bench/pipeline-ends.ts: Node's own type stripping, done once instead of per process. */
export function writePipelineEndsScript(root: string): string {
  const source = readFileSync(join(root, 'bench/pipeline-ends.ts'), 'utf8');
  // The bench runs on the pinned Node, which has it; it reports itself experimental on every use, which says nothing
  // about the bench's results, so that one warning is not printed.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  let js: string;
  try {
    js = nodeModule.stripTypeScriptTypes(source);
  } finally {
    process.emitWarning = emitWarning;
  }
  const path = pipelineEndsScript(root);
  writeFileSync(path, `// generated from bench/pipeline-ends.ts by bench/strategies/ends-script.ts\n${js}`);
  return path;
}
