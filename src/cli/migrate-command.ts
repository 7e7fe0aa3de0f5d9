// `vfio-migrate migrate`: a live migration with both ends in this process (over a loopback connection, the same
// protocol as between hosts). With no arguments, the built-in demo: a running, dirtying simulated NIC moves to a
// fresh one, with its phases, rounds, downtime and both state digests.
import { DeviceSet } from '../device/device-set.ts';
import { UsageError } from '../errors.ts';
import { LocalMigration } from '../migration/index.ts';
import { defineCommand } from './command.ts';
import {
  convergenceOptionSpec,
  convergenceOptions,
  linkOptions,
  migrationOptionValues,
  migrationUsage,
  planOptionSpec,
  runOptionSpec,
  streamOptionSpec,
  streamOptions,
} from './migration-options.ts';
import { migrationJson, renderMigration, reportMigration } from './migration-render.ts';
import { planForMigration } from './plan-command.ts';

/** The demo: the quick start's NIC, running and dirtying 4 MiB/s, to a fresh one. */
export const DEMO_DEVICE = 'sim:nic';

const usage = `usage: vfio-migrate migrate [--from SPEC]... [--to SPEC]... [options]

Migrates running devices to fresh ones in this process, live: pre-copy rounds while the source devices run (where
they support PRE_COPY), a switchover when the predicted downtime meets the target, and the measured downtime with
its breakdown. Repeat --from/--to for a set of devices (paired in order; the set keeps the P2P order: every P2P
device quiesced before any stops). --to defaults to the same specs as --from; --from defaults to the demo, ${DEMO_DEVICE}
(a NIC dirtying 4 MiB/s). Exits 1 if a source and a destination state digest differ.

${migrationUsage.migrate}

examples:
  vfio-migrate migrate
  vfio-migrate migrate --from sim:nic --from sim:gpu,size=256m --downtime 100ms --max-bandwidth 1gbit
  vfio-migrate migrate --from sim:nic,dirty=64m/s --max-bandwidth 20m --on-no-converge abort`;

export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'live-migrate devices to others in this process (no arguments: the simulated NIC demo)',
  usage,
  options: {
    from: { type: 'string', multiple: true },
    to: { type: 'string', multiple: true },
    ...streamOptionSpec,
    ...convergenceOptionSpec,
    ...planOptionSpec,
    ...runOptionSpec,
  },
  optionValues: { ...migrationOptionValues, from: 'device', to: 'device' },
  async run({ values }, io) {
    const from = values.from ?? [DEMO_DEVICE];
    const to = values.to ?? from;
    const json = Boolean(values.json);
    const { link, idleMs } = await linkOptions(values, io.signal);
    const options = { ...streamOptions(values), ...convergenceOptions(values) };
    if (values.to && values.to.length === 0) throw new UsageError('--to needs a device spec');
    const source = await DeviceSet.open(from, { role: 'source', signal: io.signal });
    try {
      const plan = await planForMigration(source, values, options, link.limiter?.rate ?? null, io, 'migrate');
      const destination = await DeviceSet.open(to, { role: 'destination', signal: io.signal });
      try {
        if (!json && io.verbosity !== 'quiet') {
          io.err(
            `migrating ${from.join(' + ')} -> ${to.join(' + ')} (${options.precopy ? 'pre-copy' : 'stop-and-copy'}, ` +
              `downtime target ${options.downtimeMs ?? 300} ms${link.limiter ? `, link ${(link.limiter.rate / 1e6).toFixed(1)} MB/s` : ''})\n`,
          );
        }
        const migration = new LocalMigration(source, destination, {
          ...options,
          plan,
          link,
          idleMs,
          signal: io.signal,
        });
        const reporter = reportMigration(io, (type, l) => migration.on(type, l), {
          json,
          live: io.errIsTTY && !values['no-progress'] && io.env.TERM !== 'dumb',
        });
        const r = await migration.start().finally(() => reporter.close());
        const sourceDigests = r.source.devices.map((d) => d.digest);
        const destinationDigests = r.destination.devices.map((d) => d.digest);
        const differ = sourceDigests.some((s, i) => s && destinationDigests[i] && s !== destinationDigests[i]);
        if (json) {
          io.out(
            `${migrationJson('migrate', r.source, {
              ok: !differ,
              sourceDigest: sourceDigests[0] ?? null,
              destinationDigest: destinationDigests[0] ?? null,
              sourceDigests,
              destinationDigests,
              destination: r.destination.devices,
            })}\n`,
          );
        } else if (io.verbosity !== 'quiet') {
          io.out(renderMigration(r.source));
          for (const [i, d] of r.destination.devices.entries()) {
            const same =
              d.digest && sourceDigests[i] ? (d.digest === sourceDigests[i] ? ' (equal)' : ' (DIFFERENT)') : '';
            io.out(`destination ${i} ${d.id}: ${d.finalState}, digest ${d.digest ?? '(none)'}${same}\n`);
          }
        }
        if (differ) io.err('vfio-migrate migrate: a destination state digest differs from its source\n');
        return differ ? 1 : 0;
      } finally {
        await destination.close();
      }
    } finally {
      await source.close();
    }
  },
});
