// Both ends of a migration in one process, over a real loopback connection (the same protocol, transport and rate
// limit as between two hosts). One clock serves both sides, so the downtime is measured exactly: from the first
// source device leaving RUNNING to the last destination device RUNNING.
import { type DeviceSet, devicesOf, hostThreadsOf } from '../device/device-set.ts';
import type { MigrationDevice } from '../device/migration-device.ts';
import { withPlanDefaults } from '../planner/plan-defaults.ts';
import { MigrationDestination } from './migration-destination.ts';
import type { MigrationEventMap, MigrationEventType } from './migration-events.ts';
import type { MigrationResult } from './migration-result.ts';
import { MigrationSource, type SourceMigrationOptions } from './migration-source.ts';

export interface LocalMigrationResult {
  source: MigrationResult;
  destination: MigrationResult;
  /** Exact: one clock saw the first source device leave RUNNING and the last destination device start. */
  downtimeMs: number;
}

export interface LocalMigrationOptions extends SourceMigrationOptions {
  /** Where the destination listens (default a free loopback TCP port; `tls://127.0.0.1:0` with `link.tls`). */
  listen?: string | undefined;
}

export class LocalMigration {
  readonly source: MigrationSource;
  readonly destination: MigrationDestination;
  #result: Promise<LocalMigrationResult> | null = null;

  constructor(
    from: DeviceSet | readonly MigrationDevice[],
    to: DeviceSet | readonly MigrationDevice[],
    given: LocalMigrationOptions = {},
  ) {
    // the destination's threads follow the plan too where the caller set none
    const opts = withPlanDefaults(given, given.plan);
    const listen = opts.listen ?? (opts.link?.tls ? 'tls://127.0.0.1:0' : 'tcp://127.0.0.1:0');
    let bound!: (address: string) => void;
    const address = new Promise<string>((r) => (bound = r));
    // both ends are threads of this process: each side's codec threads leave a core to every device thread
    const busyThreads = opts.busyThreads ?? hostThreadsOf(devicesOf(from)) + hostThreadsOf(devicesOf(to));
    this.destination = new MigrationDestination(to, listen, {
      workers: opts.workers,
      busyThreads,
      budget: opts.budget,
      idleMs: opts.idleMs,
      signal: opts.signal,
      // the link's rate limit is the sender's; the listener takes the transport's security settings
      link: { ...opts.link, limiter: undefined, onListening: bound },
    });
    this.source = new MigrationSource(from, address, { ...opts, busyThreads });
  }

  /** Listens to both sides' events of `type` (the detail's `side` says which). */
  on<K extends MigrationEventType>(type: K, listener: (detail: MigrationEventMap[K] & { side: string }) => void): void {
    this.source.on(type, (d) => listener({ ...d, side: 'source' }));
    this.destination.on(type, (d) => listener({ ...d, side: 'destination' }));
  }

  start(): Promise<LocalMigrationResult> {
    this.#result ??= this.#run();
    return this.#result;
  }

  async #run(): Promise<LocalMigrationResult> {
    const [s, d] = await Promise.allSettled([this.source.start(), this.destination.start()]);
    if (s.status === 'rejected') throw s.reason;
    if (d.status === 'rejected') throw d.reason;
    const started = this.destination.startedAt ?? performance.now();
    const stopAt = this.source.downtimeStartedAt;
    const downtimeMs = stopAt === null ? s.value.downtimeMs! : started - stopAt;
    const sourceResult: MigrationResult = { ...s.value, downtimeMs, downtimeUpperBound: false };
    if (sourceResult.breakdown) {
      const b = sourceResult.breakdown;
      const known =
        b.quiesceMs + b.hookMs + b.stopMs + b.finalTransferMs + b.destinationFinishMs + b.destinationStartMs;
      sourceResult.breakdown = { ...b, ackMs: Math.max(0, downtimeMs - known) };
    }
    return { source: sourceResult, destination: d.value, downtimeMs };
  }
}
