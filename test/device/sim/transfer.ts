// Moves a saving session's bytes into a resuming session, the way the migration layer will, with knobs for a slow
// reader and stream surgery (drop, append) to feed a destination bad data.
import type { MigrationDevice } from '../../../src/device/migration-device.ts';
import { READ_DRAINED, READ_END } from '../../../src/device/types.ts';

export interface TransferOptions {
  readSize?: number;
  /** Sleep this long after every `slowEvery` reads. */
  slowMs?: number;
  slowEvery?: number;
  /** Called on READ_DRAINED (pre-copy has nothing right now); return false to stop reading in pre-copy. */
  onDrained?: () => Promise<boolean>;
  /** Stop forwarding after this many bytes (truncation). */
  limit?: number;
  /** Observe every read result. */
  onRead?: (n: number) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Reads `src`'s saving session to its end (or until onDrained says stop), writing into `dst` if given. */
export async function pump(
  src: MigrationDevice,
  dst: MigrationDevice | null,
  opts: TransferOptions = {},
): Promise<number> {
  const buf = new Uint8Array(opts.readSize ?? 1 << 20);
  let total = 0;
  let reads = 0;
  for (;;) {
    const session = src.savingSession;
    if (!session) throw new Error('no saving session');
    const n = await session.read(buf, { signal: opts.signal });
    await opts.onRead?.(n);
    if (n === READ_END) return total;
    if (n === READ_DRAINED) {
      if (!opts.onDrained || !(await opts.onDrained())) return total;
      continue;
    }
    let take = n;
    if (opts.limit !== undefined) take = Math.max(0, Math.min(n, opts.limit - total));
    if (dst && take > 0) await dst.resumingSession!.write(buf.subarray(0, take), { signal: opts.signal });
    total += n;
    reads++;
    if (opts.slowMs && reads % (opts.slowEvery ?? 1) === 0) await new Promise((r) => setTimeout(r, opts.slowMs));
  }
}

/** A whole STOP_COPY-only migration src → dst; returns the bytes moved. */
export async function stopCopyMigrate(src: MigrationDevice, dst: MigrationDevice, opts: TransferOptions = {}) {
  await src.setState('STOP_COPY');
  await dst.setState('RESUMING');
  const bytes = await pump(src, dst, opts);
  await src.setState('STOP');
  return bytes;
}
