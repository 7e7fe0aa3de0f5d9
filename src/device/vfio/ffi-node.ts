// Node's libc binding through koffi (an optional dependency, imported only here). ioctls and BAR accesses are
// quick synchronous calls with errno captured right after them; data fd reads and writes go through node:fs, which
// runs them on libuv's thread pool and reports the errno with the failure.
import fs from 'node:fs';
import { FfiUnavailableError } from '../../errors.ts';
import { errnoFromNodeError } from './errno.ts';
import type { Libc, SyscallResult } from './ffi.ts';

type KoffiFn = (...args: unknown[]) => unknown;
interface KoffiLib {
  func(signature: string): KoffiFn;
}
interface Koffi {
  load(path: string): KoffiLib;
  errno(): number;
}

function toNumber(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

export async function loadNodeLibc(): Promise<Libc> {
  let koffi: Koffi;
  try {
    const mod = (await import('koffi')) as unknown as { default?: Koffi } & Koffi;
    koffi = mod.default ?? mod;
  } catch (cause) {
    throw new FfiUnavailableError(
      "real VFIO devices under Node need the optional 'koffi' package (npm install koffi), which failed to load: " +
        (cause as Error).message,
      { cause },
    );
  }
  const lib = koffi.load('libc.so.6');
  const open = lib.func('int open(const char *path, int flags, ...)');
  const close = lib.func('int close(int fd)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  const fcntl = lib.func('int fcntl(int fd, int cmd, ...)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const int *value, uint32_t size)');
  const pread = lib.func('intptr_t pread(int fd, _Out_ uint8_t *buf, size_t count, int64_t offset)');
  const pwrite = lib.func('intptr_t pwrite(int fd, const uint8_t *buf, size_t count, int64_t offset)');

  const result = (ret: unknown): SyscallResult => {
    const n = toNumber(ret);
    return { ret: n, errno: n < 0 ? koffi.errno() : 0 };
  };

  const fsCall = (run: (cb: (err: NodeJS.ErrnoException | null, n: number) => void) => void): Promise<SyscallResult> =>
    new Promise((resolve) => {
      run((err, n) => {
        if (err) resolve({ ret: -1, errno: errnoFromNodeError(err) ?? 5 });
        else resolve({ ret: n, errno: 0 });
      });
    });

  return {
    runtime: 'node',
    open: (path, flags) => result(open(path, flags)),
    close: (fd) => result(close(fd)),
    ioctlPtr: (fd, request, arg) => result(ioctl(fd, request, 'uint8_t *', arg)),
    ioctlVal: (fd, request, value) => result(ioctl(fd, request, 'unsigned long', value)),
    fcntlVal: (fd, cmd, value) => result(fcntl(fd, cmd, 'int', value)),
    setsockoptInt: (fd, level, name, value) => result(setsockopt(fd, level, name, [value], 4)),
    pread: (fd, buf, offset) => result(pread(fd, buf, buf.length, offset)),
    pwrite: (fd, buf, offset) => result(pwrite(fd, buf, buf.length, offset)),
    // position null: plain read()/write(); data fds are streams and answer ESPIPE to pread/pwrite.
    readAsync: (fd, buf) => fsCall((cb) => fs.read(fd, buf, 0, buf.length, null, cb)),
    writeAsync: (fd, buf) => fsCall((cb) => fs.write(fd, buf, 0, buf.length, null, cb)),
    retain() {},
    release() {},
  };
}
