// `vfio-migrate receive`: the destination end of a live migration from a `send` on another process or host.
import { DeviceSet } from '../device/device-set.ts';
import { DEFAULT_DEVICE } from '../device/open-device.ts';
import { UsageError } from '../errors.ts';
import { MigrationDestination } from '../migration/index.ts';
import { defineCommand } from './command.ts';
import {
  linkOptions,
  migrationOptionValues,
  migrationUsage,
  receiverStreamOptionSpec,
  runOptionSpec,
  streamOptions,
  tlsOptionSpec,
} from './migration-options.ts';
import { migrationJson, renderMigration, reportMigration } from './migration-render.ts';

const usage = `usage: vfio-migrate receive [--device SPEC]... --listen ADDR [options]

The destination end of a live migration: listens on ADDR (tcp://HOST:PORT, tls://HOST:PORT or unix:PATH; HOST
defaults to 127.0.0.1, PORT 0 picks one and prints it), takes one 'vfio-migrate send', checks its devices against
these before anything changes state (refusing, with every reason, on both ends), loads each device's stream as it
arrives, validates, and starts the devices only when the source says go. On any failure these devices are reset.
Connections that are not a migration peer, or not this migration's, are refused and it keeps listening.
Repeat --device for a set (default ${DEFAULT_DEVICE}).

${migrationUsage.receive}

examples:
  vfio-migrate receive --device sim:nic --listen tcp://0.0.0.0:7070
  vfio-migrate receive --device vfio:0000:3b:00.1 --listen tls://0.0.0.0:7443 --tls-cert srv.pem --tls-key srv.key`;

export const receiveCommand = defineCommand({
  name: 'receive',
  summary: 'take a live migration from a send on another process or host',
  usage,
  options: {
    device: { type: 'string', multiple: true },
    listen: { type: 'string' },
    ...receiverStreamOptionSpec,
    'accept-timeout': { type: 'string' },
    ...tlsOptionSpec,
    ...runOptionSpec,
  },
  optionValues: { ...migrationOptionValues, device: 'device' },
  async run({ values }, io) {
    if (!values.listen)
      throw new UsageError('receive needs --listen ADDR (tcp://HOST:PORT, tls://HOST:PORT or unix:PATH)');
    const json = Boolean(values.json);
    const { link, idleMs, acceptTimeoutMs } = await linkOptions(values, io.signal);
    const { workers, budget } = streamOptions(values);
    const devices = await DeviceSet.open(values.device ?? [DEFAULT_DEVICE], { role: 'destination', signal: io.signal });
    try {
      const migration = new MigrationDestination(devices, values.listen, {
        workers,
        budget,
        link: { ...link, limiter: undefined },
        idleMs,
        acceptTimeoutMs,
        signal: io.signal,
      });
      const reporter = reportMigration(io, (type, l) => migration.on(type, (d) => l({ ...d, side: 'destination' })), {
        json,
        live: false,
      });
      const r = await migration.start().finally(() => reporter.close());
      if (json) io.out(`${migrationJson('receive', r, { destinationDigest: r.devices[0]?.digest ?? null })}\n`);
      else if (io.verbosity !== 'quiet') io.out(renderMigration(r));
      return 0;
    } finally {
      await devices.close();
    }
  },
});
