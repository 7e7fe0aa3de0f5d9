// Both ends of a data session prove themselves before any migration data moves. The socket's address is no secret
// (abstract names are listed in /proc/net/unix for every user, and have no permissions), so the device admits only a
// connection that presents the session's host key, and the host trusts the socket only once it answers with the
// session's device key. Both keys are fresh random bytes per session, made in the device's thread and handed to the
// host over the worker's message port (process memory, never a socket); a key is good for one connection.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import net, { type Socket } from 'node:net';
import type { SocketReader } from './data-socket-reader.ts';

export const SESSION_KEY_BYTES = 32;

export interface SessionKeys {
  /** What the host sends first. */
  readonly host: Uint8Array;
  /** What the device answers with. */
  readonly device: Uint8Array;
}

export function newSessionKeys(): SessionKeys {
  return {
    host: new Uint8Array(randomBytes(SESSION_KEY_BYTES)),
    device: new Uint8Array(randomBytes(SESSION_KEY_BYTES)),
  };
}

export function keysMatch(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

interface ReadExactlyOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /** What the bytes are, for messages. */
  what: string;
}

/** Takes exactly `n` bytes off `socket`; whatever follows stays buffered for the next reader. */
export function readExactly(socket: Socket, n: number, opts: ReadExactlyOptions): Promise<Uint8Array> {
  const { signal } = opts;
  return new Promise((resolve, reject) => {
    const settle = (err: Error | null, bytes?: Uint8Array) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(bytes as Uint8Array);
    };
    const onReadable = () => {
      const chunk = socket.read(n) as Uint8Array | null;
      if (!chunk) return;
      if (chunk.length < n) settle(new Error(`the peer closed the connection inside ${opts.what}`));
      else settle(null, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    };
    const onEnd = () => settle(new Error(`the peer closed the connection before ${opts.what}`));
    const onError = (err: Error) => settle(err);
    const onAbort = () => settle(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    const timer = setTimeout(() => settle(new Error(`no ${opts.what} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    if (signal?.aborted) return onAbort();
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    onReadable();
  });
}

/** How long the host waits for the device's answer; the device answers at once unless something else is there. */
const HOST_WAIT_MS = 30_000;

/**
 * Host side, on a freshly connected socket: proves the host, then checks the device's answer. A socket that reads
 * into a SocketReader (`onread`) is read through it; what follows the answer stays there for the session.
 */
export async function proveToDevice(
  socket: Socket,
  keys: SessionKeys,
  signal?: AbortSignal,
  reader?: SocketReader,
): Promise<void> {
  socket.write(keys.host);
  const what = "the device's session key";
  let answer: Uint8Array;
  if (reader) {
    const timeout = AbortSignal.timeout(HOST_WAIT_MS);
    try {
      answer = await reader.readExactly(SESSION_KEY_BYTES, signal ? AbortSignal.any([signal, timeout]) : timeout, what);
    } catch (err) {
      if (timeout.aborted && !signal?.aborted) throw new Error(`no ${what} within ${HOST_WAIT_MS} ms`);
      throw err;
    }
  } else answer = await readExactly(socket, SESSION_KEY_BYTES, { signal, timeoutMs: HOST_WAIT_MS, what });
  if (!keysMatch(answer, keys.device)) {
    throw new Error('the peer on the data socket is not the device (wrong session key)');
  }
}

/** How long the device lets a connection take to present a key. */
export const DEVICE_WAIT_MS = 10_000;

/**
 * Device side, on an accepted connection: reads the key it presents and asks `claim` for the session it opens
 * (claim returns null for an unknown key), answers with that session's device key and attaches the socket to it in
 * the same turn (nothing can close the session in between). Resolves to the claimed session, or null after closing a
 * connection that did not prove itself.
 */
export async function admitHost<T extends { keys: SessionKeys; attach(socket: Socket): void }>(
  socket: Socket,
  claim: (hostKey: Uint8Array) => T | null,
  timeoutMs = DEVICE_WAIT_MS,
): Promise<T | null> {
  // Until it is admitted a connection has no listener of its own: its errors end here.
  const ignore = () => {};
  socket.on('error', ignore);
  try {
    const key = await readExactly(socket, SESSION_KEY_BYTES, { timeoutMs, what: 'a session key' });
    const session = claim(key);
    if (!session) {
      socket.destroy();
      return null;
    }
    socket.write(session.keys.device);
    session.attach(socket);
    return session;
  } catch {
    socket.destroy();
    return null;
  } finally {
    socket.off('error', ignore);
  }
}

// A resuming session runs the other way round: the device reads, and only a connecting socket can read into a buffer
// of its own (`onread`, which accepted sockets lack), so the host listens and the device connects. The roles of the
// keys swap with it: the device presents its key first, and trusts the socket once the host answers with its own.

/**
 * Host side of a resuming session, on an accepted connection: admits it only if it presents the device key, and
 * answers with the host key. Resolves to true for the device's connection; closes any other and resolves to false.
 */
export async function admitDevice(socket: Socket, keys: SessionKeys, timeoutMs = DEVICE_WAIT_MS): Promise<boolean> {
  const ignore = () => {};
  socket.on('error', ignore);
  try {
    const key = await readExactly(socket, SESSION_KEY_BYTES, { timeoutMs, what: 'a session key' });
    if (!keysMatch(key, keys.device)) {
      socket.destroy();
      return false;
    }
    socket.write(keys.host);
    return true;
  } catch {
    socket.destroy();
    return false;
  } finally {
    socket.off('error', ignore);
  }
}

/** What a device's reading end hands its bytes to once the host has proved itself. */
export interface DeviceSink {
  attach(socket: Socket): void;
  /** Takes bytes that are only valid during the call; false stops reading (until `socket.resume()`). */
  onBytes(bytes: Uint8Array): boolean;
}

/**
 * Device side of a resuming session: connects to the host's listener at `path`, reading into `buffer`, presents the
 * device key and checks the host's answer; from then on every byte read goes to `sink`, attached in the same turn.
 */
export function connectToHost(
  path: string,
  keys: SessionKeys,
  buffer: Uint8Array,
  sink: DeviceSink,
  timeoutMs = HOST_WAIT_MS,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const answer = new Uint8Array(SESSION_KEY_BYTES);
    let have = 0;
    let proved = false;
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onRead = (n: number): boolean => {
      if (proved) return sink.onBytes(buffer.subarray(0, n));
      const take = Math.min(n, SESSION_KEY_BYTES - have);
      answer.set(buffer.subarray(0, take), have);
      have += take;
      if (have < SESSION_KEY_BYTES) return true;
      clearTimeout(timer);
      if (!keysMatch(answer, keys.host)) {
        fail(new Error('the peer on the data socket is not the host (wrong session key)'));
        return false;
      }
      proved = true;
      socket.off('error', fail);
      socket.off('close', onClose);
      sink.attach(socket);
      resolve();
      return take < n ? sink.onBytes(buffer.subarray(take, n)) : true;
    };
    const onClose = () => fail(new Error('the host closed the data socket before its session key'));
    const timer = setTimeout(() => fail(new Error(`no host session key within ${timeoutMs} ms`)), timeoutMs);
    const opts = { path, onread: { buffer, callback: onRead } } as net.NetConnectOpts;
    const socket = net.createConnection(opts);
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.once('connect', () => socket.write(keys.device));
  });
}
