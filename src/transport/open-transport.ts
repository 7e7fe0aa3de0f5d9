// A transport spec to a pipeline end. For sockets, by default the receiving side (a source: `load`) listens and the
// sending side (a sink: `save`) connects; `listen` flips either one, so whichever side starts first can wait.
import type net from 'node:net';
import { TransportSpecError } from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { STREAM_START_BYTES, streamStartProblem } from '../stream/header-record.ts';
import { type FileSinkOptions, openFileSink, openFileSource } from './file-transport.ts';
import {
  acceptSocket,
  connectSocket,
  peekBytes,
  type SocketOptions,
  type SocketSpec,
  socketSink,
  socketSource,
} from './socket-transport.ts';
import { openStdinSource, openStdoutSink, type StdioOptions } from './stdio-transport.ts';
import { formatTransportSpec, parseTransportSpec, type TransportSpec } from './transport-spec.ts';

export interface OpenTransportOptions extends SocketOptions, StdioOptions, FileSinkOptions {
  /** Sockets: listen (true) or connect (false). Default: sources listen, sinks connect. */
  listen?: boolean | undefined;
}

/**
 * Admission for a listening source of a vfio-migrate stream: the peer's first bytes must start a stream header
 * within the handshake deadline, so a port scanner or a stray client is refused and the listener waits on.
 */
export async function admitStreamSender(socket: net.Socket, signal: AbortSignal): Promise<void> {
  // a peer whose first bytes already differ from a stream's is turned away at once, not at the deadline
  const start = await peekBytes(socket, STREAM_START_BYTES, signal, (have) => streamStartProblem(have) !== null);
  socket.unshift(start);
  const problem = streamStartProblem(start);
  if (problem) throw new Error(problem);
}

async function socketFor(spec: SocketSpec, listen: boolean, opts: OpenTransportOptions) {
  if (spec.kind === 'tcp' && !spec.tls && opts.tls) {
    throw new TransportSpecError(`TLS options were given for ${formatTransportSpec(spec)}: use tls://HOST:PORT`);
  }
  if (spec.kind === 'tcp' && !listen && spec.port === 0) {
    throw new TransportSpecError(`cannot connect to port 0 (${formatTransportSpec(spec)}): name the listener's port`);
  }
  return listen ? acceptSocket(spec, opts) : connectSocket(spec, opts);
}

/** Opens where a stream comes from: `-`, PATH, tcp://, tls://, unix:. */
export async function openSource(spec: string | TransportSpec, opts: OpenTransportOptions = {}): Promise<ByteSource> {
  const t = typeof spec === 'string' ? parseTransportSpec(spec) : spec;
  switch (t.kind) {
    case 'stdio':
      return openStdinSource(opts);
    case 'file':
      return openFileSource(t.path);
    default: {
      const listen = opts.listen ?? true;
      // A listening source admits only a peer that starts a stream, unless the caller has its own check.
      const admit = opts.admit === undefined ? admitStreamSender : opts.admit;
      const socket = await socketFor(t, listen, { ...opts, admit: listen ? (admit ?? undefined) : undefined });
      return socketSource(socket, formatTransportSpec(t), opts);
    }
  }
}

/** Opens where a stream goes: `-`, PATH, tcp://, tls://, unix:. */
export async function openSink(spec: string | TransportSpec, opts: OpenTransportOptions = {}): Promise<ByteSink> {
  const t = typeof spec === 'string' ? parseTransportSpec(spec) : spec;
  switch (t.kind) {
    case 'stdio':
      return openStdoutSink(opts);
    case 'file':
      return openFileSink(t.path, opts);
    default: {
      const socket = await socketFor(t, opts.listen ?? false, opts);
      return socketSink(socket, formatTransportSpec(t), opts);
    }
  }
}
