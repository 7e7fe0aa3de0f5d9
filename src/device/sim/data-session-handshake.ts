// Both ends of a data session prove themselves before any migration data moves. The socket's address is no secret
// (abstract names are listed in /proc/net/unix for every user, and have no permissions), so the device admits only a
// connection that presents the session's host key, and the host trusts the socket only once it answers with the
// session's device key. Both keys are fresh random bytes per session, made in the device's thread and handed to the
// host over the worker's message port (process memory, never a socket); a key is good for one connection.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { RingSocket } from '../../transport/ring-socket.ts';

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

/** Takes exactly `n` bytes off `socket` (the device's end); whatever follows stays buffered for the next reader. */
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

/** Host side, on a freshly connected socket: proves the host, then checks the device's answer. */
export async function proveToDevice(host: RingSocket, keys: SessionKeys, signal?: AbortSignal): Promise<void> {
  host.socket.write(keys.host);
  const answer = await host.readExactly(SESSION_KEY_BYTES, {
    signal,
    timeoutMs: HOST_WAIT_MS,
    what: "the device's session key",
  });
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
