// `-`: the process's standard input and output, or streams handed in for them (tests, embedding VMMs).
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { TransportIoError } from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { sinkFromNodeWritable, sourceFromNodeReadable } from '../pipeline/node-stream-endpoints.ts';

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
  const stdin = opts.stdin ?? process.stdin;
  return sourceFromNodeReadable(stdin, 'stdin', { mapError: mapError('stdin') });
}

export function openStdoutSink(opts: StdioOptions = {}): ByteSink {
  const stdout = opts.stdout ?? process.stdout;
  // The process's own stdout stays open (it ends with the process); a stream handed in is ended like any other.
  return sinkFromNodeWritable(stdout, 'stdout', { mapError: mapError('stdout'), keepOpen: !opts.stdout });
}
