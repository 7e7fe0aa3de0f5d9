// A TypeScript consumer of the published package (.ci/check-package compiles it against the packed tarball with
// the oldest TypeScript and @types/node the README supports): the main entry points and their types, and an
// exhaustive switch over the error codes.
import {
  DeviceSet,
  ERROR_CODES,
  type ErrorCode,
  loadDevice,
  type MigrationDevice,
  openDevice,
  openSink,
  openSource,
  type ProgressEvent,
  runCli,
  saveDevice,
  type TransferStats,
  VfioMigrateError,
} from 'vfio-migrate';

function advice(code: ErrorCode): string {
  switch (code) {
    case 'VFM_ABORTED':
      return 'stopped on request';
    case 'VFM_DEVICE_NOT_READY':
      return 'run vfio-migrate recover';
    default: {
      const other: Exclude<ErrorCode, 'VFM_ABORTED' | 'VFM_DEVICE_NOT_READY'> = code;
      return other;
    }
  }
}

export async function migrate(signal: AbortSignal): Promise<TransferStats> {
  const src: MigrationDevice = await openDevice('sim:nic', { role: 'source' });
  const dst = await openDevice('sim:nic', { role: 'destination' });
  try {
    await saveDevice(src, await openSink('nic.vfm'), { codec: 'zstd', signal });
    const onProgress = (p: ProgressEvent) => console.log(p.bytes, p.total, p.eta);
    return await loadDevice(await openSource('nic.vfm'), dst, { onProgress, signal });
  } catch (err) {
    if (err instanceof VfioMigrateError) console.error(advice(err.code));
    throw err;
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

export const codes: readonly ErrorCode[] = ERROR_CODES;
export const set: typeof DeviceSet = DeviceSet;
export const cli: typeof runCli = runCli;
