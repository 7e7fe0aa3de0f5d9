// `vfio-migrate send`: the source end of a live migration to a `receive` on another process or host.
import { DeviceSet } from '../device/device-set.ts';
import { DEFAULT_DEVICE } from '../device/open-device.ts';
import { UsageError } from '../errors.ts';
import { MigrationSource } from '../migration/index.ts';
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
  tlsOptionSpec,
} from './migration-options.ts';
import { migrationJson, renderMigration, reportMigration } from './migration-render.ts';
import { planForMigration } from './plan-command.ts';

const usage = `usage: vfio-migrate send [--device SPEC]... --to ADDR [options]

The source end of a live migration: connects to a 'vfio-migrate receive' at ADDR (tcp://HOST:PORT, tls://HOST:PORT
or unix:PATH; it retries while nobody listens, so either side may start first), agrees on the devices, pre-copies
while they run, switches over when the predicted downtime meets the target, and reports the downtime (measured to
the destination's final acknowledgement: an upper bound). On any failure before the destination was told to start,
the devices return to RUNNING. Repeat --device for a set (default ${DEFAULT_DEVICE}).

${migrationUsage.send}

examples:
  vfio-migrate receive --device sim:nic --listen tcp://0.0.0.0:7070     (on the destination)
  vfio-migrate send --device sim:nic --to tcp://dst-host:7070 --downtime 200ms`;

export const sendCommand = defineCommand({
  name: 'send',
  summary: 'live-migrate devices to a receive on another process or host',
  usage,
  options: {
    device: { type: 'string', multiple: true },
    to: { type: 'string' },
    ...streamOptionSpec,
    ...convergenceOptionSpec,
    ...planOptionSpec,
    'connect-timeout': { type: 'string' },
    ...tlsOptionSpec,
    ...runOptionSpec,
  },
  optionValues: { ...migrationOptionValues, device: 'device' },
  async run({ values }, io) {
    if (!values.to) throw new UsageError('send needs --to ADDR (tcp://HOST:PORT, tls://HOST:PORT or unix:PATH)');
    const json = Boolean(values.json);
    const { link, idleMs } = await linkOptions(values, io.signal);
    const options = { ...streamOptions(values), ...convergenceOptions(values) };
    const devices = await DeviceSet.open(values.device ?? [DEFAULT_DEVICE], { role: 'source', signal: io.signal });
    try {
      const plan = await planForMigration(devices, values, options, link.limiter?.rate ?? null, io, 'send');
      const migration = new MigrationSource(devices, values.to, { ...options, plan, link, idleMs, signal: io.signal });
      const reporter = reportMigration(io, (type, l) => migration.on(type, (d) => l({ ...d, side: 'source' })), {
        json,
        live: io.errIsTTY && !values['no-progress'] && io.env.TERM !== 'dumb',
      });
      const r = await migration.start().finally(() => reporter.close());
      if (json) {
        io.out(
          `${migrationJson('send', r, {
            sourceDigest: r.devices[0]?.digest ?? null,
            destinationDigest: r.peerDigests[0] ?? null,
          })}\n`,
        );
      } else if (io.verbosity !== 'quiet') io.out(renderMigration(r, 'destination'));
      return 0;
    } finally {
      await devices.close();
    }
  },
});
