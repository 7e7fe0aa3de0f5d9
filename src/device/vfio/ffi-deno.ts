// Deno's libc binding through its own FFI (Deno.dlopen). ioctls and BAR accesses are quick synchronous calls with
// errno read right after them on the same thread. Data fd reads and writes run on a worker thread: a `nonblocking`
// FFI symbol would leave errno in a pool thread we cannot ask, and ENOMSG versus a real failure matters here.
import { workerEntryUrl } from '../../worker-entry-url.ts';
import type { Libc, SyscallResult } from './ffi.ts';

type NativeType = 'i32' | 'u64' | 'i64' | 'usize' | 'isize' | 'buffer' | 'pointer';
interface SymbolDef {
  name?: string;
  parameters: NativeType[];
  result: NativeType;
}
interface DenoFfi {
  dlopen<S extends Record<string, SymbolDef>>(
    path: string,
    symbols: S,
  ): { symbols: Record<keyof S, (...args: unknown[]) => unknown>; close(): void };
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number };
}

export const LIBC_SYMBOLS = {
  open: { parameters: ['buffer', 'i32'], result: 'i32' },
  close: { parameters: ['i32'], result: 'i32' },
  ioctl_ptr: { name: 'ioctl', parameters: ['i32', 'u64', 'buffer'], result: 'i32' },
  ioctl_val: { name: 'ioctl', parameters: ['i32', 'u64', 'u64'], result: 'i32' },
  fcntl_val: { name: 'fcntl', parameters: ['i32', 'i32', 'i32'], result: 'i32' },
  setsockopt: { parameters: ['i32', 'i32', 'i32', 'buffer', 'i32'], result: 'i32' },
  pread: { parameters: ['i32', 'buffer', 'usize', 'i64'], result: 'isize' },
  pwrite: { parameters: ['i32', 'buffer', 'usize', 'i64'], result: 'isize' },
  read: { parameters: ['i32', 'buffer', 'usize'], result: 'isize' },
  write: { parameters: ['i32', 'buffer', 'usize'], result: 'isize' },
  __errno_location: { parameters: [], result: 'pointer' },
} satisfies Record<string, SymbolDef>;

export function denoFfi(): DenoFfi {
  return (globalThis as unknown as { Deno: DenoFfi }).Deno;
}

/** Opens libc and returns its calls plus an errno reader for the calling thread. */
export function openDenoLibc() {
  const D = denoFfi();
  const lib = D.dlopen('libc.so.6', LIBC_SYMBOLS);
  const s = lib.symbols;
  const errno = (): number => new D.UnsafePointerView(s.__errno_location()).getInt32(0);
  const result = (ret: unknown): SyscallResult => {
    const n = Number(ret as number | bigint);
    return { ret: n, errno: n < 0 ? errno() : 0 };
  };
  return { s, result };
}

interface Pending {
  resolve: (r: SyscallResult) => void;
  into: Uint8Array | null;
}

interface WorkerReply {
  id: number;
  ret: number;
  errno: number;
  data: Uint8Array | null;
}

const IO_WORKER_URL = workerEntryUrl('ffi-deno-io-worker', import.meta.url).href;

export function loadDenoLibc(): Libc {
  const { s, result } = openDenoLibc();
  const cstr = (text: string) => new TextEncoder().encode(`${text}\0`);

  let worker: Worker | null = null;
  let nextId = 1;
  let holders = 0;
  const pending = new Map<number, Pending>();

  const ensureWorker = (): Worker => {
    if (worker) return worker;
    const w = new Worker(IO_WORKER_URL, { type: 'module' });
    w.onmessage = (ev: MessageEvent<WorkerReply>) => {
      const { id, ret, errno, data } = ev.data;
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (data && p.into) p.into.set(data.subarray(0, Math.max(0, ret)));
      p.resolve({ ret, errno });
      maybeStop();
    };
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      for (const p of pending.values()) p.resolve({ ret: -1, errno: 5 });
      pending.clear();
      worker = null;
    };
    worker = w;
    return w;
  };

  const maybeStop = () => {
    if (holders === 0 && pending.size === 0 && worker) {
      worker.terminate();
      worker = null;
    }
  };

  const call = (msg: { op: 'read' | 'write'; fd: number; len?: number; data?: Uint8Array }, into: Uint8Array | null) =>
    new Promise<SyscallResult>((resolve) => {
      const id = nextId++;
      pending.set(id, { resolve, into });
      ensureWorker().postMessage({ id, ...msg });
    });

  return {
    runtime: 'deno',
    open: (path, flags) => result(s.open(cstr(path), flags)),
    close: (fd) => result(s.close(fd)),
    ioctlPtr: (fd, request, arg) => result(s.ioctl_ptr(fd, BigInt(request), arg)),
    ioctlVal: (fd, request, value) => result(s.ioctl_val(fd, BigInt(request), BigInt(value))),
    fcntlVal: (fd, cmd, value) => result(s.fcntl_val(fd, cmd, value)),
    setsockoptInt: (fd, level, name, value) => result(s.setsockopt(fd, level, name, new Int32Array([value]), 4)),
    pread: (fd, buf, offset) => result(s.pread(fd, buf, BigInt(buf.length), offset)),
    pwrite: (fd, buf, offset) => result(s.pwrite(fd, buf, BigInt(buf.length), offset)),
    readAsync: (fd, buf) => call({ op: 'read', fd, len: buf.length }, buf),
    writeAsync: (fd, buf) => call({ op: 'write', fd, data: buf.slice() }, null),
    retain() {
      holders++;
    },
    release() {
      holders = Math.max(0, holders - 1);
      maybeStop();
    },
  };
}
