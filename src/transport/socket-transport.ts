// TCP, UNIX sockets and TLS over TCP. One side listens and accepts one peer, the other connects (retrying while
// nobody listens yet, up to a deadline). The listener keeps waiting, until its accept deadline, for a peer that
// passes the TLS handshake and the caller's admission check (the first bytes of a vfio-migrate stream, say), so a
// stray or hostile client cannot end a migration by connecting first. Whichever way a connection breaks, both sides
// get ConnectionLostError; a peer that stops or trickles is cut by the progress limits (PeerStalledError).
import { rm, stat } from 'node:fs/promises';
import net from 'node:net';
import type tls from 'node:tls';
import {
  AbortedError,
  AcceptTimeoutError,
  ConnectFailedError,
  ConnectionLostError,
  ListenFailedError,
  PeerStalledError,
  TlsHandshakeError,
  throwIfAborted,
} from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { sinkFromNodeWritable, sourceFromNodeReadable } from '../pipeline/node-stream-endpoints.ts';
import { guardSink, guardSource, type ProgressLimits } from '../pipeline/progress-guard.ts';
import { type TlsSettings, tlsClientOptions, tlsServerOptions } from './tls-config.ts';
import { formatTransportSpec, type TransportSpec } from './transport-spec.ts';

export type SocketSpec = Extract<TransportSpec, { kind: 'tcp' | 'unix' }>;

export interface SocketOptions {
  signal?: AbortSignal | undefined;
  /** Certificates or PSK for tls:// (required there, ignored otherwise). */
  tls?: TlsSettings | undefined;
  /** Connector: keep retrying a refused connect (nobody listening yet) this long. Default 10 s. */
  connectTimeoutMs?: number | undefined;
  /** Listener: give up when no acceptable peer connects this long. Default 0: wait until aborted. */
  acceptTimeoutMs?: number | undefined;
  /**
   * Listener: how long a connecting peer has to complete the TLS handshake and pass `admit` before it is refused and
   * the listener waits for the next one. Default 10 s.
   */
  handshakeTimeoutMs?: number | undefined;
  /**
   * Listener: checks a connected peer before it is accepted (throw to refuse it, with the reason as the message).
   * Bytes it reads must be put back with `socket.unshift`. A listening `openSource` checks by default that the peer
   * starts a vfio-migrate stream; null accepts any peer.
   */
  admit?: ((socket: net.Socket, signal: AbortSignal) => Promise<void>) | null | undefined;
  /** Listener: told about every peer it refused, and why. */
  onRefused?: ((peer: string, reason: string) => void) | undefined;
  /** Either side: longest wait with nothing moving (default 0: none; keepalive still probes). */
  idleTimeoutMs?: number | undefined;
  /** Either side: fewer bytes per second than this over the rate window of waiting is a stall (default 0: off). */
  minRate?: number | undefined;
  /** The window the minimum rate is judged over (default: the idle timeout, else 30 s). */
  rateWindowMs?: number | undefined;
  /** Listener: called with the bound address (`tcp://127.0.0.1:40123`) once it accepts connections. */
  onListening?: ((address: string) => void) | undefined;
}

const TLS_ERROR = /^(ERR_SSL|ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|ERR_OSSL)/;
const RETRYABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EAGAIN']);
const DEFAULT_HANDSHAKE_MS = 10_000;
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

/**
 * What OpenSSL says about a failed handshake, in words an operator can act on. With a pre-shared key, a wrong key
 * surfaces as a MAC or binder failure (or as the peer hanging up), never as "wrong key".
 */
export function describeTlsFailure(err: Error, psk: boolean): string {
  const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`;
  if (psk && /binder|decrypt|bad record mac|psk|ECONNRESET|socket hang up|alert/i.test(text)) {
    return 'wrong pre-shared key or identity (both sides must use the same --psk-file and --psk-identity)';
  }
  if (/certificate|CERT_|SELF_SIGNED|UNABLE_TO_|DEPTH_ZERO/i.test(text)) return `certificate refused: ${err.message}`;
  if (/HOSTNAME_MISMATCH|altnames/i.test(text)) return `the certificate names another host: ${err.message}`;
  return err.message;
}

function tune(socket: net.Socket): void {
  if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
  // Keepalive probes notice a peer that vanished without a FIN (power loss, partition).
  if (typeof socket.setKeepAlive === 'function') socket.setKeepAlive(true, 5_000);
}

/** Node's TLS sockets take allowHalfOpen like net's (passed through to the socket), though its types omit it. */
/** node:tls, loaded when a tls:// endpoint first needs it: it costs tens of milliseconds of start-up otherwise. */
const tlsModule = (): typeof tls => process.getBuiltinModule('node:tls');

const halfOpen = (o: tls.ConnectionOptions) => ({ ...o, allowHalfOpen: true }) as tls.ConnectionOptions;

function connectOnce(spec: SocketSpec, opts: SocketOptions, endpoint: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const useTls = spec.kind === 'tcp' && spec.tls;
    const address = spec.kind === 'unix' ? { path: spec.path } : { host: spec.host, port: spec.port };
    const socket = useTls
      ? tlsModule().connect(
          halfOpen({ ...address, ...tlsClientOptions(opts.tls, spec.kind === 'tcp' ? spec.host : '') }),
        )
      : net.connect({ ...address, allowHalfOpen: true });
    const ready = useTls ? 'secureConnect' : 'connect';
    const onAbort = () => socket.destroy(new AbortedError(undefined, { cause: opts.signal?.reason }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // A TLS listener that refuses us closes the connection; give the handshake a deadline of its own too.
    const timer = useTls
      ? setTimeout(
          () => onError(Object.assign(new Error('no TLS handshake within the deadline'), { code: 'ETIMEDOUT' })),
          opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_MS,
        )
      : undefined;
    const cleanup = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off(ready, onReady);
      socket.off('close', onClose);
    };
    function onReady() {
      cleanup();
      tune(socket);
      resolve(socket);
    }
    function onClose() {
      onError(
        Object.assign(new Error('the listener closed the connection during the handshake'), { code: 'ECONNRESET' }),
      );
    }
    function onError(err: NodeJS.ErrnoException) {
      cleanup();
      socket.on('error', () => {});
      socket.destroy();
      if (err instanceof AbortedError) reject(err);
      else if (RETRYABLE.has(err.code ?? ''))
        reject(Object.assign(new ConnectFailedError(endpoint, err.message), { retry: true, cause: err }));
      else if (useTls && (TLS_ERROR.test(err.code ?? '') || err.code === 'ECONNRESET' || err.code === 'ETIMEDOUT'))
        reject(new TlsHandshakeError(endpoint, describeTlsFailure(err, Boolean(opts.tls?.psk)), { cause: err }));
      else reject(new ConnectFailedError(endpoint, err.message, { cause: err }));
    }
    socket.once(ready, onReady);
    socket.on('error', onError);
    if (useTls) socket.once('close', onClose);
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

const peerName = (s: net.Socket) =>
  s.remoteAddress
    ? `${s.remoteAddress.includes(':') ? `[${s.remoteAddress}]` : s.remoteAddress}:${s.remotePort}`
    : 'a local peer';

/** A peer a listener admitted, with what its admission check found. */
export interface AdmittedPeer<T> {
  socket: net.Socket;
  /** What `admit` resolved with (for a connection's preamble, say). */
  value: T;
  /** `host:port` of the peer, for messages. */
  name: string;
}

export interface ListenerOptions<T> extends Omit<SocketOptions, 'admit'> {
  /**
   * Checks each connected (and, for TLS, authenticated) peer within the handshake deadline; throw to refuse it.
   * Bytes it reads and does not consume must be put back with `socket.unshift`.
   */
  admit?: ((socket: net.Socket, signal: AbortSignal) => Promise<T>) | null | undefined;
}

/**
 * A listening socket that admits peers one by one: each connection must complete the TLS handshake (tls://) and
 * pass `admit` within the handshake deadline, else it is refused (told to `onRefused`) and the listener waits on.
 * Admitted peers queue until `next()` takes them. Half-open connections: the peer's end of stream does not make this
 * side close before it has read and handled all of it.
 */
export class SocketListener<T = void> {
  readonly address: string;
  readonly #server: net.Server;
  readonly #spec: SocketSpec;
  readonly #refused: string[] = [];
  readonly #ready: AdmittedPeer<T>[] = [];
  readonly #pending = new Set<net.Socket>();
  #waiter: { resolve(p: AdmittedPeer<T>): void; reject(e: Error): void } | null = null;
  #failure: Error | null = null;
  #closed = false;

  private constructor(server: net.Server, spec: SocketSpec, address: string) {
    this.#server = server;
    this.#spec = spec;
    this.address = address;
  }

  /** Binds and reports the address (`onListening`). */
  static async open<T = void>(spec: SocketSpec, opts: ListenerOptions<T> = {}): Promise<SocketListener<T>> {
    throwIfAborted(opts.signal);
    const useTls = spec.kind === 'tcp' && spec.tls;
    // TLS is layered on each connection here rather than by tls.Server, which reports nothing for a client that
    // gives up on the handshake of a half-open connection (one that does not trust our certificate just closes).
    const tlsOptions = useTls ? tlsServerOptions(opts.tls) : undefined;
    const secureContext = tlsOptions ? tlsModule().createSecureContext(tlsOptions) : undefined;
    const server = net.createServer({ allowHalfOpen: true });
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
    const listener = new SocketListener<T>(server, spec, address);
    listener.#serve(opts, useTls ? { tlsOptions: tlsOptions!, secureContext: secureContext! } : null);
    opts.onListening?.(address);
    return listener;
  }

  /** Who was refused so far, and why. */
  get refused(): readonly string[] {
    return this.#refused;
  }

  /** The next admitted peer; AcceptTimeoutError (naming the refused) when none comes within `timeoutMs`. */
  next(opts: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined } = {}): Promise<AdmittedPeer<T>> {
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ListenFailedError(this.address, 'the listener is closed'));
    if (opts.signal?.aborted) return Promise.reject(new AbortedError(undefined, { cause: opts.signal.reason }));
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.#waiter = null;
      };
      const onAbort = () => {
        done();
        reject(new AbortedError(undefined, { cause: opts.signal?.reason }));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs) {
        timer = setTimeout(() => {
          done();
          reject(new AcceptTimeoutError(this.address, opts.timeoutMs!, this.#refused));
        }, opts.timeoutMs);
      }
      this.#waiter = {
        resolve: (p) => {
          done();
          resolve(p);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
    });
  }

  /** Stops listening: peers still being checked are dropped, admitted ones not taken are closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#pending) s.destroy();
    for (const p of this.#ready.splice(0)) p.socket.destroy();
    this.#waiter?.reject(new ListenFailedError(this.address, 'the listener was closed'));
    // Stops accepting; connections already handed out stay open (close's callback would wait for them).
    this.#server.close();
    if (this.#spec.kind === 'unix') await rm(this.#spec.path, { force: true }).catch(() => {});
  }

  #serve(
    opts: ListenerOptions<T>,
    secure: { tlsOptions: tls.TlsOptions; secureContext: tls.SecureContext } | null,
  ): void {
    const handshakeMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_MS;
    this.#server.on('error', (err) => {
      this.#failure ??= new ListenFailedError(this.address, err.message, { cause: err });
      this.#waiter?.reject(this.#failure);
    });
    const refuse = (socket: net.Socket, reason: string, name: string) => {
      this.#pending.delete(socket);
      socket.on('error', () => {});
      socket.destroy();
      if (this.#closed) return;
      this.#refused.push(`${name}: ${reason}`);
      opts.onRefused?.(name, reason);
    };
    const admitted = (peer: AdmittedPeer<T>) => {
      this.#pending.delete(peer.socket);
      if (this.#closed) return void peer.socket.destroy();
      if (this.#waiter) this.#waiter.resolve(peer);
      else this.#ready.push(peer);
    };
    // A connected (and, for TLS, authenticated) peer still has to pass the caller's check in time.
    const consider = (socket: net.Socket, name: string) => {
      if (this.#closed) return void socket.destroy();
      this.#pending.add(socket);
      socket.on('error', () => {}); // owned from the first moment; reads report errors through the stream
      tune(socket);
      if (!opts.admit) return admitted({ socket, value: undefined as T, name });
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), handshakeMs);
      opts.admit(socket, ac.signal).then(
        (value) => {
          clearTimeout(t);
          if (socket.destroyed) refuse(socket, 'went away before it was accepted', name);
          else admitted({ socket, value, name });
        },
        (err: Error) => {
          clearTimeout(t);
          refuse(socket, ac.signal.aborted ? `sent no valid start within ${handshakeMs} ms` : err.message, name);
        },
      );
    };
    this.#server.on('connection', (raw: net.Socket) => {
      const name = peerName(raw);
      if (!secure) return consider(raw, name);
      const tlsSocket = new (tlsModule().TLSSocket)(raw, {
        ...secure.tlsOptions,
        isServer: true,
        secureContext: secure.secureContext,
        allowHalfOpen: true,
      } as tls.TLSSocketOptions);
      let done = false;
      const fail = (reason: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        refuse(tlsSocket, reason, name);
        raw.destroy();
      };
      const timer = setTimeout(() => fail(`no TLS handshake within ${handshakeMs} ms`), handshakeMs);
      tlsSocket.once('secure', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        consider(tlsSocket, name);
      });
      tlsSocket.on('error', (err) => fail(`TLS handshake failed: ${describeTlsFailure(err, Boolean(opts.tls?.psk))}`));
      const gone = () => fail('closed the connection during the TLS handshake (does it trust this certificate?)');
      tlsSocket.once('end', gone);
      tlsSocket.once('close', gone);
    });
  }
}

/**
 * Binds, reports the address, and accepts one peer: the first that completes the TLS handshake (tls://) and passes
 * `admit` within the handshake deadline. Peers that fail are refused (told to `onRefused`) and the listener keeps
 * waiting until `acceptTimeoutMs`. Then it stops listening (and removes a UNIX socket file).
 */
export async function acceptSocket(spec: SocketSpec, opts: SocketOptions = {}): Promise<net.Socket> {
  const listener = await SocketListener.open<void>(spec, opts);
  try {
    return (await listener.next({ timeoutMs: opts.acceptTimeoutMs, signal: opts.signal })).socket;
  } finally {
    // One peer per stream: stop listening right away (the accepted socket stays open).
    await listener.close();
  }
}

/**
 * Reads `n` bytes from a freshly connected socket within `signal`'s life, for admission checks; the caller puts them
 * back with `socket.unshift`. Resolves early with fewer once `enough(bytes so far)` says they already decide.
 * Rejects when the peer closes or the signal fires first.
 */
export function peekBytes(
  socket: net.Socket,
  n: number,
  signal: AbortSignal,
  enough: (have: Buffer) => boolean = () => false,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let have = 0;
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      signal.removeEventListener('abort', onAbort);
    };
    const onData = (d: Buffer) => {
      parts.push(d);
      have += d.length;
      if (have < n && !enough(Buffer.concat(parts))) return;
      cleanup();
      socket.pause();
      const all = Buffer.concat(parts);
      if (all.length > n) socket.unshift(all.subarray(n));
      resolve(all.subarray(0, n));
    };
    const onEnd = () => {
      cleanup();
      reject(new Error(`closed the connection after ${have} bytes`));
    };
    const onAbort = () => {
      cleanup();
      socket.pause();
      reject(new Error(`sent ${have} bytes and then nothing`));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.resume(); // a previous peek paused it; a 'data' listener alone does not resume a paused stream
  });
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

function limitsOf(opts: SocketOptions): ProgressLimits {
  return { idleMs: opts.idleTimeoutMs, minRate: opts.minRate, rateWindowMs: opts.rateWindowMs };
}

/** A stalled peer is cut at once: destroying the socket fails every pending read and write on both sides. */
function stallOf(socket: net.Socket, endpoint: string) {
  return (limit: 'idle' | 'min-rate', bytes: number, detail: string) => {
    const err = new PeerStalledError(endpoint, bytes, limit, `the peer stalled: ${detail}`);
    socket.destroy(err);
    return err;
  };
}

/**
 * The receiving end of a connected socket. End of data is the peer's clean FIN; anything else is a lost connection.
 * reply() sends the receiver's answer back before the connection closes.
 */
export function socketSource(socket: net.Socket, endpoint: string, opts: SocketOptions = {}): ByteSource {
  const inner = sourceFromNodeReadable(socket, endpoint, { mapError: lost(endpoint) });
  const guarded = guardSource(inner, limitsOf(opts), stallOf(socket, endpoint));
  return {
    name: endpoint,
    read: (into, o) => guarded.read(into, o),
    close: () => guarded.close(),
    reply: (data) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed || !socket.writable) return resolve();
        socket.end(data, () => resolve());
      }),
  };
}

/** What a sink keeps of the peer's answer at most (a receipt is far smaller). */
const MAX_REPLY = 64 << 10;

/**
 * The sending end of a connected socket. end() half-closes and waits for the peer to close in turn: a peer that read
 * the whole stream closes cleanly; one that failed with bytes unread resets the connection, which end() reports as
 * ConnectionLostError (the receiver did not take the whole stream), so a sender never mistakes a failed receiver
 * that merely had room in its buffers for success.
 */
export function socketSink(
  socket: net.Socket,
  endpoint: string,
  opts: SocketOptions & {
    closeGraceMs?: number;
    /** end() only half-closes (FIN) and returns: the caller learns the outcome another way (a migration). */
    awaitPeerClose?: boolean;
  } = {},
): ByteSink {
  // Keep what the peer answers (its receipt, bounded) and drain the rest, or its FIN would never be seen.
  const reply: Buffer[] = [];
  let replied = 0;
  socket.on('data', (d: Buffer) => {
    if (replied + d.length <= MAX_REPLY) reply.push(d);
    replied += d.length;
  });
  socket.resume();
  let resetBy: Error | null = null;
  socket.on('error', (err) => (resetBy ??= err));
  const closed = new Promise<boolean>((resolve) => socket.once('close', (hadError) => resolve(hadError)));
  const inner = sinkFromNodeWritable(socket, endpoint, { mapError: lost(endpoint) });
  const guarded = guardSink(inner, limitsOf(opts), stallOf(socket, endpoint));
  return {
    name: endpoint,
    write: (data, o) => guarded.write(data, o),
    async end(o) {
      await inner.end(o);
      if (opts.awaitPeerClose === false) return;
      // the receiver may still be writing what it read into its device: wait as long as a stall would be tolerated
      const grace = opts.closeGraceMs ?? (opts.idleTimeoutMs || 10_000);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        closed,
        new Promise<'silent'>((r) => (timer = setTimeout(() => r('silent'), grace))),
      ]);
      clearTimeout(timer);
      socket.destroy();
      if (outcome === 'silent') {
        throw new PeerStalledError(
          endpoint,
          socket.bytesWritten,
          'idle',
          `the receiver neither finished nor failed within ${grace} ms of the end of the stream`,
        );
      }
      const answer = new Uint8Array(Buffer.concat(reply));
      // A receiver that answered said what happened itself; only one that did not is judged by how it closed.
      if (answer.length > 0) return answer;
      if (outcome || resetBy) {
        const code = (resetBy as NodeJS.ErrnoException | null)?.code ?? 'ECONNRESET';
        throw new ConnectionLostError(
          endpoint,
          socket.bytesWritten,
          `the receiver reset the connection (${code}) before taking the whole stream: it failed or went away`,
          { cause: resetBy ?? undefined },
        );
      }
      return answer;
    },
    async abort(reason) {
      await inner.abort(reason);
      socket.destroy();
    },
  };
}
