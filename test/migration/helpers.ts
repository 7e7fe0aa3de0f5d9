// Shared by the migration tests: open simulated device sets, run a migration in one process while recording both
// ends' arcs into one log (one clock, so their order across the ends is real), and check where devices ended.
import { DeviceSet } from '../../src/device/device-set.ts';
import { LocalMigration, type LocalMigrationOptions } from '../../src/migration/index.ts';

export interface LoggedArc {
  side: 'source' | 'destination';
  device: number;
  from: string;
  to: string;
  at: number;
}

export interface Run {
  source: DeviceSet;
  destination: DeviceSet;
  migration: LocalMigration;
  arcs: LoggedArc[];
  phases: { side: string; phase: string; at: number }[];
  close(): Promise<void>;
}

/** Opens both sets and a migration between them, logging every arc and phase. */
export async function prepare(from: string[], to: string[] = from, opts: LocalMigrationOptions = {}): Promise<Run> {
  const source = await DeviceSet.open(from, { role: 'source' });
  const destination = await DeviceSet.open(to, { role: 'destination' });
  const migration = new LocalMigration(source, destination, { idleMs: 15_000, ...opts });
  const arcs: LoggedArc[] = [];
  const phases: Run['phases'] = [];
  migration.on('state', (d) =>
    arcs.push({ side: d.side as LoggedArc['side'], device: d.device, from: d.from, to: d.to, at: d.at }),
  );
  migration.on('phase', (d) => phases.push({ side: d.side, phase: d.phase, at: d.at }));
  return {
    source,
    destination,
    migration,
    arcs,
    phases,
    close: async () => {
      await source.close();
      await destination.close();
    },
  };
}

/** Indexes in `arcs` of the arcs matching `pred`. */
export const where = (arcs: LoggedArc[], pred: (a: LoggedArc) => boolean) =>
  arcs.map((a, i) => (pred(a) ? i : -1)).filter((i) => i >= 0);

/** Fresh-device digests of `specs` (what a reset destination holds), for checking nothing was resumed. */
export async function freshDigests(specs: string[]): Promise<(string | undefined)[]> {
  const set = await DeviceSet.open(specs, { role: 'destination' });
  try {
    return await set.stateDigests();
  } finally {
    await set.close();
  }
}

/**
 * A TCP proxy between a migration's two ends, to drop every connection at a chosen moment (a cable pulled, a
 * firewall, a peer host gone). `cut()` resets every connection through it and refuses new ones.
 */
export async function tcpProxy(target: () => Promise<string>): Promise<{ address: string; cut(): void }> {
  const { default: net } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  let cutOff = false;
  const server = net.createServer({ allowHalfOpen: true }, async (client) => {
    if (cutOff) return void client.resetAndDestroy();
    const url = new URL(await target());
    const upstream = net.connect({ host: url.hostname, port: Number(url.port), allowHalfOpen: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    address: `tcp://127.0.0.1:${port}`,
    cut() {
      cutOff = true;
      for (const s of sockets) s.resetAndDestroy();
      server.close();
    },
  };
}

export interface Ends {
  source: DeviceSet;
  destination: DeviceSet;
  src: import('../../src/migration/index.ts').MigrationSource;
  dst: import('../../src/migration/index.ts').MigrationDestination;
  arcs: LoggedArc[];
  phases: { side: string; phase: string; at: number }[];
  proxy: { address: string; cut(): void } | null;
  /** Runs both ends; resolves with how each ended. */
  run(): Promise<[PromiseSettledResult<unknown>, PromiseSettledResult<unknown>]>;
  close(): Promise<void>;
}

/** The two ends as separate objects (each with its own options and signal), optionally through a proxy. */
export async function prepareEnds(
  from: string[],
  to: string[],
  opts: {
    source?: import('../../src/migration/index.ts').SourceMigrationOptions;
    destination?: import('../../src/migration/index.ts').DestinationMigrationOptions;
    proxy?: boolean;
  } = {},
): Promise<Ends> {
  const { MigrationDestination, MigrationSource } = await import('../../src/migration/index.ts');
  const source = await DeviceSet.open(from, { role: 'source' });
  const destination = await DeviceSet.open(to, { role: 'destination' });
  let bound!: (a: string) => void;
  const listening = new Promise<string>((r) => (bound = r));
  const dst = new MigrationDestination(destination, 'tcp://127.0.0.1:0', {
    idleMs: 15_000,
    ...opts.destination,
    link: { ...opts.destination?.link, onListening: bound },
  });
  const proxy = opts.proxy ? await tcpProxy(() => listening) : null;
  const src = new MigrationSource(source, proxy ? proxy.address : listening, { idleMs: 15_000, ...opts.source });
  const arcs: LoggedArc[] = [];
  const phases: Ends['phases'] = [];
  for (const [side, m] of [
    ['source', src],
    ['destination', dst],
  ] as const) {
    m.on('state', (d) => arcs.push({ side, device: d.device, from: d.from, to: d.to, at: d.at }));
    m.on('phase', (d) => phases.push({ side, phase: d.phase, at: d.at }));
  }
  return {
    source,
    destination,
    src,
    dst,
    arcs,
    phases,
    proxy,
    run: () => Promise.allSettled([src.start(), dst.start()]),
    close: async () => {
      proxy?.cut();
      await source.close();
      await destination.close();
    },
  };
}
