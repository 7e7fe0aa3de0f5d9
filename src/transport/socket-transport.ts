// TCP, UNIX sockets and TLS over TCP. One side listens and accepts exactly one peer, the other connects (retrying
// while nobody listens yet, up to a deadline). Whichever way a connection breaks, both sides get
// ConnectionLostError: a reset or an early close rejects the pending read or write, and a receiver that hears
// nothing for `idleTimeoutMs` while it waits for data gives up instead of hanging.
import { rm, stat } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import {
  AbortedError,
  ConnectFailedError,
  ConnectionLostError,
  ListenFailedError,
  TlsHandshakeError,
  throwIfAborted,
} from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { sinkFromNodeWritable, sourceFromNodeReadable } from '../pipeline/node-stream-endpoints.ts';
import { type TlsSettings, tlsClientOptions, tlsServerOptions } from './tls-config.ts';
import { formatTransportSpec, type TransportSpec } from './transport-spec.ts';

export type SocketSpec = Extract<TransportSpec, { kind: 'tcp' | 'unix' }>;

export interface SocketOptions {
  signal?: AbortSignal | undefined;
  /** Certificates or PSK for tls:// (required there, ignored otherwise). */
  tls?: TlsSettings | undefined;
  /** Connector: keep retrying a refused connect (nobody listening yet) this long. Default 10 s. */
  connectTimeoutMs?: number | undefined;
  /** Listener: give up when no peer connects this long. Default 0: wait until aborted. */
  acceptTimeoutMs?: number | undefined;
  /** Receiving side: longest silence tolerated while waiting for data. Default 0: none (keepalive still probes). */
  idleTimeoutMs?: number | undefined;
  /** Listener: called with the bound address (`tcp://127.0.0.1:40123`) once it accepts connections. */
  onListening?: ((address: string) => void) | undefined;
}

const TLS_ERROR = /^(ERR_SSL|ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|ERR_OSSL)/;
const RETRYABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EAGAIN']);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(new AbortedError(undefined, { cause: signal?.reason }));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function tune(socket: net.Socket): void {
  if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
  // Keepalive probes notice a peer that vanished without a FIN (power loss, partition).
  if (typeof socket.setKeepAlive === 'function') socket.setKeepAlive(true, 5_000);
}

function connectOnce(spec: SocketSpec, opts: SocketOptions, endpoint: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const useTls = spec.kind === 'tcp' && spec.tls;
    const address = spec.kind === 'unix' ? { path: spec.path } : { host: spec.host, port: spec.port };
    const socket = useTls
      ? tls.connect({ ...address, ...tlsClientOptions(opts.tls, spec.kind === 'tcp' ? spec.host : '') })
      : net.connect(address);
    const ready = useTls ? 'secureConnect' : 'connect';
    const onAbort = () => socket.destroy(new AbortedError(undefined, { cause: opts.signal?.reason }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off(ready, onReady);
    };
    function onReady() {
      cleanup();
      tune(socket);
      resolve(socket);
    }
    function onError(err: NodeJS.ErrnoException) {
      cleanup();
      socket.destroy();
      if (err instanceof AbortedError) reject(err);
      else if (RETRYABLE.has(err.code ?? ''))
        reject(Object.assign(new ConnectFailedError(endpoint, err.message), { retry: true, cause: err }));
      else if (useTls && (TLS_ERROR.test(err.code ?? '') || err.code === 'ECONNRESET'))
        reject(new TlsHandshakeError(endpoint, err.message, { cause: err }));
      else reject(new ConnectFailedError(endpoint, err.message, { cause: err }));
    }
    socket.once(ready, onReady);
    socket.on('error', onError);
  });
}

/** Connects to a listening peer, retrying while it is not there yet, until `connectTimeoutMs`. */
export async function connectSocket(spec: SocketSpec, opts: SocketOptions = {}): Promise<net.Socket> {
  const endpoint = formatTransportSpec(spec);
  const deadline = Date.now() + (opts.connectTimeoutMs ?? 10_000);
  let delay = 25;
  for (;;) {
    throwIfAborted(opts.signal);
    try {
      return await connectOnce(spec, opts, endpoint);
    } catch (err) {
      const left = deadline - Date.now();
      if (!(err as { retry?: boolean }).retry || left <= 0) throw err;
      await sleep(Math.min(delay, left), opts.signal);
      delay = Math.min(delay * 2, 500);
    }
  }
}

/** Binds, reports the address, accepts exactly one peer, then stops listening (and removes a UNIX socket file). */
export async function acceptSocket(spec: SocketSpec, opts: SocketOptions = {}): Promise<net.Socket> {
  throwIfAborted(opts.signal);
  const useTls = spec.kind === 'tcp' && spec.tls;
  const server = useTls ? tls.createServer(tlsServerOptions(opts.tls)) : net.createServer();
  const endpoint = formatTransportSpec(spec);
  if (spec.kind === 'unix') await refuseExistingPath(spec.path, endpoint);

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new ListenFailedError(endpoint, err.message, { cause: err }));
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (spec.kind === 'unix') server.listen(spec.path, done);
    else server.listen(spec.port, spec.host, done);
  });
  const bound = server.address();
  const address =
    spec.kind === 'unix' || bound === null || typeof bound === 'string'
      ? endpoint
      : formatTransportSpec({ ...spec, port: bound.port });
  opts.onListening?.(address);

  try {
    return await new Promise<net.Socket>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err: Error | null, socket?: net.Socket) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        server.removeAllListeners('error');
        server.on('error', () => {});
        if (err) reject(err);
        else {
          tune(socket!);
          resolve(socket!);
        }
      };
      const onAbort = () => finish(new AbortedError(undefined, { cause: opts.signal?.reason }));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.acceptTimeoutMs) {
        timer = setTimeout(
          () => finish(new ListenFailedError(address, `no peer connected within ${opts.acceptTimeoutMs} ms`)),
          opts.acceptTimeoutMs,
        );
      }
      server.once('error', (err) => finish(new ListenFailedError(address, err.message, { cause: err })));
      if (useTls) {
        server.once('secureConnection', (s: tls.TLSSocket) => finish(null, s));
        server.once('tlsClientError', (err: Error, s: tls.TLSSocket) => {
          s.destroy();
          finish(new TlsHandshakeError(address, err.message, { cause: err }));
        });
      } else {
        server.once('connection', (s: net.Socket) => finish(null, s));
      }
    });
  } finally {
    // One peer per stream: stop listening right away (the accepted socket stays open).
    server.close();
    if (spec.kind === 'unix') await rm(spec.path, { force: true }).catch(() => {});
  }
}

async function refuseExistingPath(path: string, endpoint: string): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch {
    return;
  }
  // Probing a live socket by connecting would become its one peer, so an existing path is refused outright (the
  // listener removes its socket file when done; one left behind comes from a killed process).
  throw new ListenFailedError(
    endpoint,
    st.isSocket()
      ? `${path} exists: another listener holds it, or one that was killed left it behind (remove it then)`
      : `${path} exists and is not a socket`,
  );
}

function lost(endpoint: string) {
  return (err: Error, bytes: number) =>
    err instanceof ConnectionLostError
      ? err
      : new ConnectionLostError(endpoint, bytes, (err as NodeJS.ErrnoException).code ?? err.message, { cause: err });
}

/** The receiving end of a connected socket. End of data is the peer's clean FIN; anything else is a lost connection. */
export function socketSource(socket: net.Socket, endpoint: string, opts: SocketOptions = {}): ByteSource {
  const inner = sourceFromNodeReadable(socket, endpoint, { mapError: lost(endpoint) });
  const idle = opts.idleTimeoutMs ?? 0;
  let bytes = 0;
  return {
    name: endpoint,
    async read(into, o) {
      if (!idle) {
        const n = await inner.read(into, o);
        bytes += n;
        return n;
      }
      const timer = setTimeout(
        () => socket.destroy(new ConnectionLostError(endpoint, bytes, `no data for ${idle} ms`)),
        idle,
      );
      try {
        const n = await inner.read(into, o);
        bytes += n;
        return n;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => inner.close(),
  };
}

/** The sending end of a connected socket. end() half-closes and waits for the peer to finish reading and close. */
export function socketSink(socket: net.Socket, endpoint: string, opts: { closeGraceMs?: number } = {}): ByteSink {
  // Drain (and discard) anything the peer sends, or its FIN would never be seen.
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const inner = sinkFromNodeWritable(socket, endpoint, { mapError: lost(endpoint) });
  return {
    name: endpoint,
    write: (data, o) => inner.write(data, o),
    async end(o) {
      await inner.end(o);
      const grace = opts.closeGraceMs ?? 10_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, grace)))]);
      clearTimeout(timer);
      socket.destroy();
    },
    async abort(reason) {
      await inner.abort(reason);
      socket.destroy();
    },
  };
}
