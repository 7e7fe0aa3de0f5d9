// Files and named pipes. A save into a regular file writes a hidden sibling and renames it into place once the
// stream is complete and synced, so a failed or cancelled save never leaves a half file under the requested name.
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TransportIoError, throwIfAborted } from '../errors.ts';
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
  /** Refuse to replace an existing file (default false). */
  exclusive?: boolean;
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

export async function openFileSink(path: string, opts: FileSinkOptions = {}): Promise<ByteSink> {
  let existing: Awaited<ReturnType<typeof stat>> | null = null;
  try {
    existing = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(path, 'stat', err);
  }
  if (existing && opts.exclusive) throw new TransportIoError(path, 'exists (refusing to replace it)');
  // Regular files (or new ones) get the write-aside-and-rename treatment; FIFOs and devices are written in place.
  const atomic = !existing || existing.isFile();
  const target = atomic ? join(dirname(path), `.${basename(path)}.partial-${randomBytes(6).toString('hex')}`) : path;
  let fh: FileHandle;
  try {
    fh = await open(target, atomic ? fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL : fsc.O_WRONLY, 0o644);
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  let done = false;
  const sync = opts.sync ?? true;
  return {
    name: `file ${path}`,
    async write(data, o) {
      throwIfAborted(o?.signal);
      let off = 0;
      try {
        while (off < data.length) {
          const { bytesWritten } = await fh.write(data, off, data.length - off, null);
          off += bytesWritten;
        }
      } catch (err) {
        throw ioError(path, 'write', err);
      }
    },
    async end() {
      if (done) return;
      done = true;
      try {
        if (sync && atomic) await fh.datasync();
        await fh.close();
        if (atomic) await rename(target, path);
      } catch (err) {
        await fh.close().catch(() => {});
        if (atomic) await unlink(target).catch(() => {});
        throw ioError(path, 'finishing the file', err);
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
