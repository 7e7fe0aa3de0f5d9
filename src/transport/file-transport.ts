// Files and named pipes. A save into a regular file writes a hidden sibling and renames it into place once the
// stream is complete and synced, so a failed or cancelled save never leaves a half file under the requested name,
// and the partial file a killed save leaves behind is removed by the next save to the same name.
import { randomBytes } from 'node:crypto';
import { constants as fsc, type Stats } from 'node:fs';
import { type FileHandle, link, lstat, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import process from 'node:process';
import { OutputExistsError, TransportIoError, throwIfAborted } from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';

function ioError(path: string, what: string, cause: unknown): TransportIoError {
  const err = cause as NodeJS.ErrnoException;
  return new TransportIoError(path, `${what} failed: ${err.code ?? ''} ${err.message ?? String(cause)}`.trim(), {
    cause,
  });
}

export interface FileSinkOptions {
  /** fdatasync before the rename (default true): a saved checkpoint survives a crash right after the save. */
  sync?: boolean;
  /** Refuse to replace an existing file (default false): `--no-clobber`. Checked again, atomically, at the end. */
  exclusive?: boolean;
}

/** New checkpoints are private: device state can hold secrets (keys, buffers of the guest's data). */
const NEW_FILE_MODE = 0o600;
const PARTIAL = (name: string) => `.${name}.partial-`;

/** True while process `pid` exists (a PID reused by another process errs on the side of keeping its file). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the partial files of `target` left by saves that were killed (SIGKILL, power loss): each names the PID
 * that wrote it, and only those whose writer is gone are removed. Returns the names removed.
 */
export async function removeStalePartials(target: string): Promise<string[]> {
  const dir = dirname(target);
  const prefix = PARTIAL(basename(target));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || alive(pid)) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch {}
  }
  return removed;
}

/** The path a save writes through to: a symlink's target (so the link survives), refusing a dangling link. */
async function resolveTarget(path: string): Promise<{ path: string; existing: Stats | null }> {
  let l: Stats;
  try {
    l = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, existing: null };
    throw ioError(path, 'stat', err);
  }
  if (!l.isSymbolicLink()) return { path, existing: l };
  try {
    const real = await realpath(path);
    return { path: real, existing: await stat(real) };
  } catch (err) {
    throw new TransportIoError(path, 'is a symbolic link to nothing (dangling): refusing to write through it', {
      cause: err,
    });
  }
}

export async function openFileSource(path: string): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, fsc.O_RDONLY);
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  let closed = false;
  return {
    name: `file ${path}`,
    async read(into, opts) {
      throwIfAborted(opts?.signal);
      if (closed) return 0;
      try {
        const { bytesRead } = await fh.read(into, 0, into.length, null);
        return bytesRead;
      } catch (err) {
        throw ioError(path, 'read', err);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close().catch(() => {});
    },
  };
}

/**
 * A sink into a file. A regular file (new or existing) is written aside, as `.NAME.partial-PID-RANDOM` in the same
 * directory, and moved into place only by end(): an existing file survives every failed save. A new file is created
 * 0600; a replaced one keeps its mode (and owner, where this process may set it). A symlink is followed: its target
 * is replaced and the link stays. Named pipes and devices are written in place.
 */
export async function openFileSink(requested: string, opts: FileSinkOptions = {}): Promise<ByteSink> {
  const { path, existing } = await resolveTarget(requested);
  if (existing && opts.exclusive)
    throw new OutputExistsError(requested, 'exists (refusing to replace it: --no-clobber)');
  // Regular files (or new ones) get the write-aside-and-rename treatment; FIFOs and devices are written in place.
  const atomic = !existing || existing.isFile();
  if (atomic) await removeStalePartials(path);
  const target = atomic
    ? join(dirname(path), `${PARTIAL(basename(path))}${process.pid}-${randomBytes(6).toString('hex')}`)
    : path;
  let fh: FileHandle;
  try {
    fh = await open(target, atomic ? fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL : fsc.O_WRONLY, NEW_FILE_MODE);
    if (atomic && existing) {
      await fh.chmod(existing.mode & 0o7777);
      await fh.chown(existing.uid, existing.gid).catch(() => {}); // only root may give a file away
    }
  } catch (err) {
    throw ioError(requested, 'open', err);
  }
  let done = false;
  const sync = opts.sync ?? true;
  return {
    name: `file ${requested}`,
    async write(data, o) {
      throwIfAborted(o?.signal);
      let off = 0;
      try {
        while (off < data.length) {
          const { bytesWritten } = await fh.write(data, off, data.length - off, null);
          off += bytesWritten;
        }
      } catch (err) {
        throw ioError(requested, 'write', err);
      }
    },
    async end() {
      if (done) return;
      done = true;
      try {
        if (sync && atomic) await fh.datasync();
        await fh.close();
        if (!atomic) return;
        if (opts.exclusive) {
          // link() fails if the name appeared meanwhile: no-clobber holds even against a racing writer
          await link(target, path);
          await unlink(target);
        } else await rename(target, path);
      } catch (err) {
        await fh.close().catch(() => {});
        if (atomic) await unlink(target).catch(() => {});
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new OutputExistsError(requested, 'appeared during the save (refusing to replace it: --no-clobber)');
        }
        throw ioError(requested, 'finishing the file', err);
      }
    },
    async abort() {
      if (done) return;
      done = true;
      await fh.close().catch(() => {});
      if (atomic) await unlink(target).catch(() => {});
    },
  };
}
