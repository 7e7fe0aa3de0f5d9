// The handful of libc calls a real VFIO device needs, behind one small interface with a backend per runtime: Deno's
// own FFI (Deno.dlopen) in Deno, the optional `koffi` package in Node. Loaded when a real device is opened, or when a
// large stream grows a kernel buffer (a pipe on stdin or stdout, a simulated device's data socket); small streams and
// installs without koffi never touch it.
import { FfiUnavailableError } from '../../errors.ts';

/** A system call's outcome: `ret` as the call returned it, `errno` when it failed (ret < 0), else 0. */
export interface SyscallResult {
  ret: number;
  errno: number;
}

export interface Libc {
  readonly runtime: 'node' | 'deno';
  open(path: string, flags: number): SyscallResult;
  close(fd: number): SyscallResult;
  /** ioctl with a pointer argument: the kernel reads and/or writes `arg` in place. */
  ioctlPtr(fd: number, request: number, arg: Uint8Array): SyscallResult;
  /** ioctl with an integer argument (VFIO_SET_IOMMU, VFIO_CHECK_EXTENSION) or none (VFIO_DEVICE_RESET: 0). */
  ioctlVal(fd: number, request: number, value: number): SyscallResult;
  /** fcntl with an integer argument (F_SETPIPE_SZ for the stream's pipes). */
  fcntlVal(fd: number, cmd: number, value: number): SyscallResult;
  /** setsockopt with an int option value (SO_SNDBUF for a simulated device's data socket). */
  setsockoptInt(fd: number, level: number, name: number, value: number): SyscallResult;
  pread(fd: number, buf: Uint8Array, offset: bigint): SyscallResult;
  pwrite(fd: number, buf: Uint8Array, offset: bigint): SyscallResult;
  /** read(2) off the event loop (a thread of the runtime's pool); `buf` receives the bytes. */
  readAsync(fd: number, buf: Uint8Array): Promise<SyscallResult>;
  /** write(2) off the event loop; returns the count written (possibly short). */
  writeAsync(fd: number, buf: Uint8Array): Promise<SyscallResult>;
  /** Devices hold the library while open; the last release stops helper threads so the process can exit. */
  retain(): void;
  release(): void;
}

declare const Deno: unknown;

let loading: Promise<Libc> | undefined;

/** The runtime's libc bindings, loaded once. Rejects with FfiUnavailableError when this runtime cannot have them. */
export function loadLibc(): Promise<Libc> {
  loading ??= (async () => {
    const platform = typeof Deno !== 'undefined' ? 'linux' : (await import('node:process')).platform;
    if (platform !== 'linux') {
      throw new FfiUnavailableError(`real VFIO devices need Linux; this is ${platform}`);
    }
    if (typeof Deno !== 'undefined') {
      const { loadDenoLibc } = await import('./ffi-deno.ts');
      return loadDenoLibc();
    }
    const { loadNodeLibc } = await import('./ffi-node.ts');
    return loadNodeLibc();
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
