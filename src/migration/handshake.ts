// What the two ends agree on before anything changes state: each side describes its devices, and the destination
// checks that it can take every one of the source's, in order. A mismatch refuses the migration on both ends with
// every reason listed, while every device on either side is still RUNNING.
import type { MigrationDevice } from '../device/migration-device.ts';
import type { OperationOptions } from '../device/types.ts';
import { flagNames, MigrationFlag } from '../fsm/index.ts';
import type { DeviceDescription } from './wire.ts';

/** The facts of a device's `describe()` that decide whether another device can take its state. */
const IDENTITY_FIELDS = ['kind', 'profile', 'size', 'driver', 'model', 'mdevType', 'vendorId', 'deviceId'] as const;

export function deviceIdentity(device: MigrationDevice): Record<string, string> {
  const facts: Record<string, unknown> = { kind: device.backend.kind, ...device.backend.describe() };
  const identity: Record<string, string> = {};
  for (const field of IDENTITY_FIELDS) {
    const v = facts[field];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') identity[field] = String(v);
  }
  return identity;
}

function toSize(n: bigint): number | null {
  return n >= 0n && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : null;
}

/** Describes `devices` for the handshake (reads each one's MIG_DATA_SIZE; changes nothing). */
export async function describeDevices(
  devices: readonly MigrationDevice[],
  opts?: OperationOptions,
): Promise<DeviceDescription[]> {
  return Promise.all(
    devices.map(async (d, index) => ({
      index,
      id: d.id,
      kind: d.backend.kind,
      flags: d.flags,
      identity: deviceIdentity(d),
      stopCopySize: toSize(await d.stopCopySize(opts).catch(() => -1n)),
    })),
  );
}

/**
 * Every reason the destination devices cannot take the source devices' state: another count, another identity
 * (profile, driver, size, mdev type...), or a migration flag the source will use and the destination lacks
 * (a destination without PRE_COPY cannot parse pre-copy data; one without P2P cannot be resumed in the P2P order).
 */
export function incompatibilities(
  source: readonly DeviceDescription[],
  destination: readonly DeviceDescription[],
  precopy: boolean,
): string[] {
  const out: string[] = [];
  if (source.length !== destination.length) {
    out.push(`the source migrates ${source.length} device(s), the destination has ${destination.length}`);
    return out;
  }
  source.forEach((s, i) => {
    const d = destination[i]!;
    for (const [field, value] of Object.entries(s.identity)) {
      const theirs = d.identity[field];
      if (theirs !== undefined && theirs !== value) {
        out.push(
          `device ${i}: ${field} ${JSON.stringify(value)} on the source, ${JSON.stringify(theirs)} here (${d.id})`,
        );
      }
    }
    const needed = s.flags & (MigrationFlag.P2P | (precopy ? MigrationFlag.PRE_COPY : 0));
    const missing = needed & ~d.flags;
    if (missing !== 0) {
      out.push(
        `device ${i}: the source uses ${flagNames(missing).join('+')}, which ${d.id} does not support ` +
          `(it has ${flagNames(d.flags).join('+')})`,
      );
    }
  });
  return out;
}
