// Both ends of a data session prove themselves before any migration data moves. The socket's address is no secret
// (abstract names are listed in /proc/net/unix for every user, and have no permissions), so the device admits only a
// connection that presents the session's host key, and the host trusts the socket only once it answers with the
// session's device key. Both keys are fresh random bytes per session, made in the device's thread and handed to the
// host over the worker's message port (process memory, never a socket); a key is good for one connection.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { RingSocket } from '../../transport/ring-socket.ts';
import { type AcceptOptions, DeviceDataConnection, DiscardReader } from './device-data-connection.ts';

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
 * (claim returns null for an unknown key), answers with that session's device key and attaches the connection to it
 * in the same turn (nothing can close the session in between); the session's reader takes every byte after the key.
 * Resolves to the claimed session, or null after closing a connection that did not prove itself.
 */
export function admitHost<T extends { keys: SessionKeys; attach(connection: DeviceDataConnection): void }>(
  socket: Socket,
  claim: (hostKey: Uint8Array) => T | null,
  timeoutMs = DEVICE_WAIT_MS,
  opts: AcceptOptions = {},
): Promise<T | null> {
  return new Promise((resolve) => {
    const key = new Uint8Array(SESSION_KEY_BYTES);
    let have = 0;
    let settled = false;
    const settle = (session: T | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.socket.off('error', refuse);
      connection.socket.off('end', refuse);
      connection.socket.off('close', refuse);
      if (!session) connection.socket.destroy();
      resolve(session);
    };
    // Until it is admitted a connection has no listener of its own: its errors end here.
    const refuse = () => settle(null);
    const connection = DeviceDataConnection.accept(
      socket,
      {
        // the key's remaining bytes, so no read takes anything past it
        space: () => key.subarray(have),
        took: (n) => {
          have += n;
          if (have < SESSION_KEY_BYTES) return true;
          const session = claim(key);
          if (!session) {
            settle(null);
            return false;
          }
          connection.socket.write(session.keys.device);
          connection.readWith(new DiscardReader());
          session.attach(connection);
          settle(session);
          return true;
        },
      },
      opts,
    );
    const timer = setTimeout(refuse, timeoutMs);
    connection.socket.on('error', refuse);
    connection.socket.once('end', refuse);
    connection.socket.once('close', refuse);
  });
}
