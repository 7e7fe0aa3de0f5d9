// The pipeline alone, one end per process: `encode` reads raw bytes (a file, or stdin) and writes a stream to
// stdout; `decode` reads a stream from stdin, verifies it and discards the raw bytes. Used by the benchmark and for
// profiling (`node --cpu-prof bench/pipeline-ends.ts …`): no device, so only the data path is measured.
//   node bench/pipeline-ends.ts encode [--codec lz4|zstd|none] [--level N] [--chunk-size B] [--chunking fixed|cdc]
//                                      [--workers N] [FILE]
//   node bench/pipeline-ends.ts decode [--workers N]
//   Either with --dist: runs the built library (dist/, as the published package and the CLI do: no type stripping
//   at start-up, which costs each end and each codec worker most of a second); without it, the TypeScript sources.
import { parseArgs } from 'node:util';
import type { ByteSink } from '../src/pipeline/byte-endpoints.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dist: { type: 'boolean' },
    codec: { type: 'string' },
    level: { type: 'string' },
    'chunk-size': { type: 'string' },
    chunking: { type: 'string' },
    workers: { type: 'string' },
  },
});
// a computed specifier, so type checking does not need a build; the types are the sources'
const from = (src: string) => (values.dist ? `../dist/${src}.js` : `../src/${src}.ts`);
const { loadStream, saveStream } = (await import(from('pipeline/index'))) as typeof import('../src/pipeline/index.ts');
const { openFileSource } = (await import(
  from('transport/file-transport')
)) as typeof import('../src/transport/file-transport.ts');
const { openStdinSource, openStdoutSink } = (await import(
  from('transport/stdio-transport')
)) as typeof import('../src/transport/stdio-transport.ts');
const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
const [mode, file] = positionals;

if (mode === 'encode') {
  const source = file ? await openFileSource(file) : openStdinSource();
  const r = await saveStream(source, openStdoutSink(), {
    codec: (values.codec as 'lz4' | 'zstd' | 'none' | undefined) ?? 'lz4',
    level: num(values.level),
    chunkSize: num(values['chunk-size']),
    chunking: values.chunking as 'fixed' | 'cdc' | undefined,
    workers: num(values.workers),
  });
  process.stderr.write(`${JSON.stringify({ bytes: r.bytes, wireBytes: r.wireBytes, workers: r.workers })}\n`);
} else if (mode === 'decode') {
  let bytes = 0;
  const discard: ByteSink = {
    name: 'discard',
    write: async (chunk) => {
      bytes += chunk.length;
    },
    end: async () => undefined,
    abort: async () => undefined,
  };
  await loadStream(openStdinSource(), discard, { workers: num(values.workers) });
  process.stderr.write(`${JSON.stringify({ rawBytes: bytes })}\n`);
} else {
  process.stderr.write('usage: pipeline-ends.ts encode [options] [FILE] | decode [--workers N]\n');
  process.exit(2);
}
