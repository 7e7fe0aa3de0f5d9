// A larger send buffer for a local stream socket that one end fills faster than the other wakes up to drain it. The
// kernel tells a UNIX socket's writer it may write again only once three quarters of its send buffer (208 KiB by
// default) have been read, so a reader that takes its bytes quickly empties the last 52 KiB before the writer has even
// woken, and then waits: each end wakes the other several times per megabyte. With a larger buffer the writer is
// woken with hundreds of KiB still queued. Needs the runtime's FFI (koffi in Node, Deno.dlopen with --allow-ffi),
// loaded only when asked (about 25 ms in Node, once per process); without it the socket keeps its size.
import type { Socket } from 'node:net';
import { ffiAllowedWithoutAsking } from './fd-endpoints.ts';

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;

/** The send buffer asked for (the kernel doubles it for its bookkeeping, up to net.core.wmem_max). */
export const GROWN_SEND_BUFFER = 1 << 20;
/** Bytes written before the buffer is grown: a small state never pays for loading the FFI. */
export const GROW_SEND_BUFFER_AFTER = 4 << 20;

/** The descriptor under a socket, where the runtime exposes one (Node and Deno do, on Linux). */
function socketFd(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** Raises `socket`'s send buffer to GROWN_SEND_BUFFER; resolves true when the kernel took it. Never throws. */
export async function growSendBuffer(socket: Socket): Promise<boolean> {
  try {
    const fd = socketFd(socket);
    if (fd === null || socket.destroyed || !ffiAllowedWithoutAsking()) return false;
    const { loadLibc } = await import('../device/vfio/ffi.ts');
    const libc = await loadLibc();
    // the socket may have closed (and its number been reused) while the FFI loaded
    if (socket.destroyed || socketFd(socket) !== fd) return false;
    return libc.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, GROWN_SEND_BUFFER).ret === 0;
  } catch {
    return false;
  }
}
