// errno mapping, proven by calling the real ioctls and syscalls through the FFI on fds that are not VFIO devices.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_DRAINED, READ_END } from '../../../src/device/types.ts';
import { ResumingFdSession, SavingFdSession } from '../../../src/device/vfio/data-fd-session.ts';
import { Errno, errorFromErrno } from '../../../src/device/vfio/errno.ts';
import { type Libc, loadLibc } from '../../../src/device/vfio/ffi.ts';
import { encodeMigrationGet, Ioctl, OpenFlag } from '../../../src/device/vfio/uapi.ts';
import { VfioBackend } from '../../../src/device/vfio/vfio-backend.ts';
import { DeviceState } from '../../../src/fsm/index.ts';

let libc: Libc;
let dir: string;
beforeAll(async () => {
  libc = await loadLibc();
  dir = mkdtempSync(path.join(tmpdir(), 'vfm-errno-'));
});
afterAll(() => {
  libc.release();
  rmSync(dir, { recursive: true, force: true });
});

function fakeBackend(fd: number): VfioBackend {
  const entry = {
    name: 'fake',
    bus: 'other' as const,
    sysfsPath: '/nowhere',
    driver: null,
    cdevName: null,
    cdevPath: null,
    iommuGroup: null,
    groupPath: null,
    mdevType: null,
    vendorId: null,
    deviceId: null,
  };
  return new VfioBackend('vfio:/dev/null', {
    libc,
    deviceFd: fd,
    via: 'cdev',
    node: '/dev/null',
    entry,
    ownedFds: [],
    iommu: {},
  });
}

describe('VFIO ioctls on fds that are not VFIO devices', () => {
  it('VFIO_DEVICE_FEATURE on /dev/null answers ENOTTY: migration unsupported', async () => {
    const fd = libc.open('/dev/null', OpenFlag.RDWR).ret;
    const r = libc.ioctlPtr(fd, Ioctl.VFIO_DEVICE_FEATURE, encodeMigrationGet());
    expect(r).toEqual({ ret: -1, errno: Errno.ENOTTY });
    const b = fakeBackend(fd);
    await expect(b.readFlags()).rejects.toMatchObject({ code: 'VFM_MIGRATION_UNSUPPORTED' });
    await expect(b.readState()).rejects.toMatchObject({ code: 'VFM_MIGRATION_UNSUPPORTED' });
    await expect(b.stopCopySize()).rejects.toMatchObject({ code: 'VFM_MIGRATION_UNSUPPORTED' });
    await expect(b.reset()).rejects.toMatchObject({ code: 'VFM_VFIO_SYSCALL', errnoName: 'ENOTTY' });
    await b.close();
  });

  it('VFIO_MIG_GET_PRECOPY_INFO on a regular file is ENOTTY: not a pre-copy fd', async () => {
    const file = path.join(dir, 'f');
    writeFileSync(file, 'x');
    const fd = libc.open(file, OpenFlag.RDONLY).ret;
    const b = fakeBackend(libc.open('/dev/null', OpenFlag.RDWR).ret);
    const s = new SavingFdSession(libc, fd, 'test', () => DeviceState.PRE_COPY);
    await expect(b.precopyInfo(s)).rejects.toMatchObject({ code: 'VFM_VFIO_INVALID_REQUEST', errnoName: 'ENOTTY' });
    await s.close();
    await b.close();
  });

  it('a missing node is ENOENT: device not found', () => {
    const r = libc.open('/dev/vfio/devices/vfio-does-not-exist', OpenFlag.RDWR);
    expect(r.errno).toBe(Errno.ENOENT);
    expect(errorFromErrno(r.errno, { kind: 'open-node', operation: 'open' }).code).toBe('VFM_VFIO_DEVICE_NOT_FOUND');
  });
});

describe('data fd sessions on ordinary fds', () => {
  it('a drained read is the end in STOP_COPY and a pause in PRE_COPY', async () => {
    const file = path.join(dir, 'data');
    writeFileSync(file, Buffer.from('abcdef'));
    let phase: DeviceState = DeviceState.PRE_COPY;
    const s = new SavingFdSession(libc, libc.open(file, OpenFlag.RDONLY).ret, 'test', () => phase);
    const buf = new Uint8Array(4);
    expect(await s.read(buf)).toBe(4);
    expect(await s.read(buf)).toBe(2);
    expect(await s.read(buf)).toBe(READ_DRAINED);
    phase = DeviceState.STOP_COPY;
    expect(await s.read(buf)).toBe(READ_END);
    expect(s.bytesRead).toBe(6);
    await s.close();
    await expect(s.read(buf)).rejects.toMatchObject({ code: 'VFM_SESSION_CLOSED' });
  });

  it('a read that the kernel refuses (EISDIR from a directory) is a data I/O error', async () => {
    const s = new SavingFdSession(libc, libc.open(dir, OpenFlag.RDONLY).ret, 'test', () => DeviceState.STOP_COPY);
    await expect(s.read(new Uint8Array(4))).rejects.toMatchObject({ code: 'VFM_VFIO_DATA_IO' });
    await s.close();
  });

  it('an aborted signal stops a read before it reaches the kernel', async () => {
    const s = new SavingFdSession(libc, libc.open('/dev/zero', OpenFlag.RDONLY).ret, 't', () => DeviceState.STOP_COPY);
    const ac = new AbortController();
    ac.abort();
    await expect(s.read(new Uint8Array(4), { signal: ac.signal })).rejects.toMatchObject({ code: 'VFM_ABORTED' });
    expect(s.bytesRead).toBe(0);
    await s.close();
  });

  it('ENOSPC while resuming (/dev/full) is a refused stream with the count accepted', async () => {
    const s = new ResumingFdSession(libc, libc.open('/dev/full', OpenFlag.WRONLY).ret, 'test');
    await expect(s.write(new Uint8Array(10))).rejects.toMatchObject({
      code: 'VFM_DEVICE_REJECTED_STREAM',
      errnoName: 'ENOSPC',
      acceptedBytes: 0,
    });
    await s.close();
  });

  it('writes continue until every byte is taken', async () => {
    const s = new ResumingFdSession(libc, libc.open('/dev/null', OpenFlag.WRONLY).ret, 'test');
    await s.write(new Uint8Array(1 << 20));
    expect(s.bytesWritten).toBe(1 << 20);
    await s.close();
  });
});

describe('errno meaning depends on the call', () => {
  const code = (errno: number, kind: Parameters<typeof errorFromErrno>[1]['kind']) =>
    errorFromErrno(errno, { kind, operation: 'op' }).code;

  it.each([
    [Errno.EPERM, 'open-node', 'VFM_VFIO_PERMISSION'],
    [Errno.EACCES, 'bind', 'VFM_VFIO_PERMISSION'],
    [Errno.EBUSY, 'open-node', 'VFM_VFIO_DEVICE_BUSY'],
    [Errno.EINVAL, 'bind', 'VFM_VFIO_DEVICE_BUSY'],
    [Errno.ENODEV, 'open-node', 'VFM_VFIO_DEVICE_NOT_FOUND'],
    [Errno.EINVAL, 'iommu', 'VFM_VFIO_IOMMU'],
    [Errno.ENOTTY, 'feature', 'VFM_MIGRATION_UNSUPPORTED'],
    [Errno.EINVAL, 'feature', 'VFM_VFIO_INVALID_REQUEST'],
    [Errno.EINVAL, 'resume-finish', 'VFM_DEVICE_REJECTED_STREAM'],
    [Errno.EFAULT, 'resume-write', 'VFM_DEVICE_REJECTED_STREAM'],
    [Errno.ENOMEM, 'resume-write', 'VFM_DEVICE_REJECTED_STREAM'],
    [Errno.ENODEV, 'save-read', 'VFM_SESSION_CLOSED'],
    [Errno.EIO, 'save-read', 'VFM_VFIO_DATA_IO'],
    [Errno.EINVAL, 'precopy-info', 'VFM_VFIO_INVALID_REQUEST'],
  ] as const)('errno %i from %s is %s', (errno, kind, expected) => {
    expect(code(errno, kind)).toBe(expected);
  });

  it('permission errors say what to do', () => {
    const e = errorFromErrno(Errno.EACCES, { kind: 'open-node', operation: 'open(/dev/vfio/devices/vfio0)' });
    expect(e.message).toMatch(/root|udev/);
  });
});
