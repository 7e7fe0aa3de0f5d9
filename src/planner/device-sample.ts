// A bounded sample of a device's migration data, read through the device's own data session as a migration would
// read it. A device with PRE_COPY is sampled from its pre-copy data while it keeps running; one without is stopped
// (STOP_COPY) for the sample's duration, and one found stopped is read from STOP_COPY too. The data is one
// sequential stream, so windows spread over it are reached by reading and dropping what lies between: the windows
// cover as much of the data as the time bound lets the device deliver, and the device then goes back to the state
// it started in.
import type { MigrationDevice } from '../device/migration-device.ts';
import { READ_DRAINED, READ_END, type SavingSession } from '../device/types.ts';
import { DataSessionMissingError, PlanSampleError, throwIfAborted } from '../errors.ts';
import { arcSessionEffect, DeviceState, MigrationFlag, stateName } from '../fsm/index.ts';
import { plainArcMs } from '../migration/convergence-policy.ts';
import { assertReadyFor } from '../pipeline/device-readiness.ts';
import { recoverToRunning } from '../pipeline/device-save.ts';

export interface SampleOptions {
  /** Bytes kept for measuring, at most (default 8 MiB). */
  sampleBytes?: number | undefined;
  /** Bytes per window (default a sixteenth of the sample, 64 KiB to 1 MiB: enough windows to see the data's parts). */
  windowBytes?: number | undefined;
  /** Longest the device's data is read, ms (default 1500): bounds the scan between windows. */
  timeMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface DeviceSample {
  device: string;
  /** The windows' bytes, concatenated. */
  data: Uint8Array;
  /** Where each window starts in the device's data stream. */
  offsets: number[];
  windowBytes: number;
  /** Bytes read from the device, kept or dropped. */
  scannedBytes: number;
  /** The device's data when sampled: PRE_COPY's initial bytes, or the STOP_COPY size. */
  dataBytes: number;
  /** The device's STOP_COPY size estimate (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE), read before sampling. */
  stopCopyBytes: number;
  /** pre-copy: the device ran throughout; stop-copy: it was stopped while sampled. */
  via: 'pre-copy' | 'stop-copy';
  /** How long the device was out of RUNNING-like service (0 via pre-copy), ms. */
  stoppedMs: number;
  /** The device's read rate over the scan, bytes/s (a stage of every transfer). */
  readRate: number;
  /** The typical plain arc (no data session opened) the device took, ms; null when it took none. */
  arcMs: number | null;
  /** Every arc taken, ms, in order. */
  arcs: { from: string; to: string; ms: number }[];
  elapsedMs: number;
}

const MIB = 1 << 20;
const toNumber = (n: bigint) => (n >= 0n && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : Number.MAX_SAFE_INTEGER);
const opensSession = (from: number, to: number) =>
  arcSessionEffect(from as DeviceState, to as DeviceState).opens !== null;

/** Reads into `into` until full or the data ends; the count read and whether the data ended. */
async function fill(session: SavingSession, into: Uint8Array, signal?: AbortSignal): Promise<[number, boolean]> {
  let got = 0;
  while (got < into.length) {
    throwIfAborted(signal);
    const n = await session.read(into.subarray(got), { signal });
    if (n === READ_END || n === READ_DRAINED) return [got, true];
    got += n;
  }
  return [got, false];
}

/** Samples `device`'s migration data (see the file comment); the device is back where it started afterwards. */
export async function sampleDevice(device: MigrationDevice, opts: SampleOptions = {}): Promise<DeviceSample> {
  const signal = opts.signal;
  const sampleBytes = Math.max(1, opts.sampleBytes ?? 8 * MIB);
  const windowBytes = Math.max(
    1,
    Math.min(opts.windowBytes ?? Math.min(MIB, Math.max(64 << 10, Math.floor(sampleBytes / 16))), sampleBytes),
  );
  const timeMs = opts.timeMs ?? 1500;
  await assertReadyFor(device, 'save', signal);
  const home = device.state;
  const stopCopyBytes = toNumber(await device.stopCopySize({ signal }));
  // PRE_COPY only from RUNNING: a device found stopped (or quiesced) is not started just to be sampled
  const via = (device.flags & MigrationFlag.PRE_COPY) !== 0 && home === DeviceState.RUNNING ? 'pre-copy' : 'stop-copy';
  const arcs: { from: number; to: number; ms: number }[] = [];
  const unobserve = device.observeArcs((a) => arcs.push({ from: a.from, to: a.to, ms: a.ms }));
  const t0 = performance.now();
  let stoppedAt: number | null = null;
  let stoppedMs = 0;
  try {
    const target = via === 'pre-copy' ? DeviceState.PRE_COPY : DeviceState.STOP_COPY;
    const { opened } = await device.setState(target, { signal });
    if (via === 'stop-copy') stoppedAt = performance.now();
    const session = opened?.kind === 'saving' ? opened : device.savingSession;
    if (!session) throw new DataSessionMissingError(`${device.id} opened no saving session in ${stateName(target)}`);
    const dataBytes =
      via === 'pre-copy' ? toNumber((await device.precopyInfo({ signal })).initialBytes) : stopCopyBytes;
    const windows = Math.max(1, Math.floor(sampleBytes / windowBytes));
    const data = new Uint8Array(windows * windowBytes);
    const scratch = new Uint8Array(Math.min(MIB, Math.max(windowBytes, 64 << 10)));
    const offsets: number[] = [];
    let kept = 0;
    let position = 0;
    let ended = false;
    const readStart = performance.now();
    let stride = 0;
    for (let w = 0; w < windows && !ended; w++) {
      if (w > 0) {
        // the span the time bound lets the device deliver, at the rate its first window came at
        const elapsed = performance.now() - readStart;
        if (elapsed >= timeMs) break;
        if (stride === 0) {
          const rate = position / Math.max(1e-3, elapsed);
          const span = Math.min(dataBytes > 0 ? dataBytes : position, rate * timeMs);
          stride = Math.max(windowBytes, Math.floor(span / windows));
        }
        let skip = w * stride - position;
        while (skip > 0 && !ended) {
          if (performance.now() - readStart >= timeMs) break;
          const [n, end] = await fill(session, scratch.subarray(0, Math.min(skip, scratch.length)), signal);
          position += n;
          skip -= n;
          ended = end;
        }
        if (ended || skip > 0) break;
      }
      const [n, end] = await fill(session, data.subarray(kept, kept + windowBytes), signal);
      if (n > 0) offsets.push(position);
      position += n;
      kept += n;
      ended = end;
    }
    const readMs = performance.now() - readStart;
    if (kept === 0) throw new PlanSampleError(device.id, `its ${stateName(target)} data session gave no data`);
    await device.setState(home, { signal });
    if (stoppedAt !== null) stoppedMs = performance.now() - stoppedAt;
    const plain = plainArcMs(arcs, opensSession) ?? null;
    return {
      device: device.id,
      data: data.subarray(0, kept),
      offsets,
      windowBytes,
      scannedBytes: position,
      dataBytes,
      stopCopyBytes,
      via,
      stoppedMs,
      readRate: (position * 1000) / Math.max(1e-3, readMs),
      arcMs: plain,
      arcs: arcs.map((a) => ({ from: stateName(a.from as DeviceState), to: stateName(a.to as DeviceState), ms: a.ms })),
      elapsedMs: performance.now() - t0,
    };
  } catch (err) {
    if (device.state !== home) await recoverToRunning(device, err).catch(() => {});
    throw err;
  } finally {
    unobserve();
  }
}
