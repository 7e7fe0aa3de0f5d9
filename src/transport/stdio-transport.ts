// `-`: the process's standard input and output, or streams handed in for them (tests, embedding VMMs). A regular file
// behind them is read or written directly; a pipe on stdin is read into a fixed buffer, a pipe on stdout written
// through Node's stream, and either is grown once the stream is large (fd-endpoints.ts says why).
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { TransportIoError } from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { sinkFromNodeWritable, sourceFromNodeReadable } from '../pipeline/node-stream-endpoints.ts';
import { descriptorKind, fileFdSink, fileFdSource, pipeFdSource, pipeGrower } from './fd-endpoints.ts';

export interface StdioOptions {
  stdin?: Readable;
  stdout?: Writable;
}

const mapError = (what: string) => (err: Error, bytes: number) =>
  new TransportIoError(
    what,
    (err as NodeJS.ErrnoException).code === 'EPIPE'
      ? `the reader went away after ${bytes} bytes (EPIPE)`
      : `${err.message} after ${bytes} bytes`,
    { cause: err },
  );

export function openStdinSource(opts: StdioOptions = {}): ByteSource {
  if (opts.stdin) return sourceFromNodeReadable(opts.stdin, 'stdin', { mapError: mapError('stdin') });
  const kind = descriptorKind(0);
  if (kind === 'file') return fileFdSource(0, { name: 'stdin', mapError: mapError('stdin') });
  const source =
    kind === 'pipe'
      ? pipeFdSource(0, { name: 'stdin', mapError: mapError('stdin') })
      : sourceFromNodeReadable(process.stdin, 'stdin', { mapError: mapError('stdin') });
  if (kind !== 'pipe') return source;
  const grow = pipeGrower(0);
  let bytes = 0;
  return {
    name: source.name,
    async read(into, o) {
      const n = await source.read(into, o);
      grow((bytes += n));
      return n;
    },
    close: () => source.close(),
  };
}

export function openStdoutSink(opts: StdioOptions = {}): ByteSink {
  // The process's own stdout stays open (it ends with the process); a stream handed in is ended like any other.
  if (opts.stdout) return sinkFromNodeWritable(opts.stdout, 'stdout', { mapError: mapError('stdout') });
  const kind = descriptorKind(1);
  if (kind === 'file') return fileFdSink(1, { name: 'stdout', mapError: mapError('stdout') });
  const sink = sinkFromNodeWritable(process.stdout, 'stdout', { mapError: mapError('stdout'), keepOpen: true });
  if (kind !== 'pipe') return sink;
  const grow = pipeGrower(1);
  let bytes = 0;
  return {
    name: sink.name,
    async write(data, o) {
      grow(bytes);
      await sink.write(data, o);
      bytes += data.length;
    },
    end: (o) => sink.end(o),
    abort: (reason) => sink.abort(reason),
  };
}
