// `vfio-migrate plan`: which stream strategy moves these devices fastest over a link, measured on this machine on
// a sample of each device's data, and the stop-and-copy downtime it predicts. Also what `migrate --plan` and
// `send --plan` run first.
import { DeviceSet } from '../device/device-set.ts';
import { DEFAULT_DEVICE } from '../device/open-device.ts';
import type { DevicesPlan, DevicesPlanResult } from '../planner/index.ts';
import { planDevices, strategyName } from '../planner/index.ts';
import { type StreamSettings, strategyOf, withPlanDefaults } from '../planner/plan-defaults.ts';
import { parseRate, RATE_CONVENTION } from '../transport/rate-limit.ts';
import { type CliIo, defineCommand, toJson } from './command.ts';
import { parseDuration, planOptionSpec } from './migration-options.ts';
import { formatBytes, formatRate } from './progress-render.ts';
import { parseByteSize, parseCount } from './transfer-options.ts';

const usage = `usage: vfio-migrate plan [--device SPEC]... [--link RATE] [--downtime DURATION] [options]

Samples each device's migration data through its own data session (from PRE_COPY while it runs where it has
PRE_COPY, else from STOP_COPY, stopping it for the sample's duration; then back to the state it was in), measures
each strategy's ratio and throughput on this machine on the samples (codec none, lz4, zstd at levels 1, 3 and 9;
fixed 1m, fixed 256k and CDC 256k chunks; 1..N codec threads), and says which strategy moves the devices' STOP_COPY
data fastest over the link: the transfer takes its slowest stage (the device's reads, encoding, the link, decoding:
they are pipelined) plus the fixed costs (the arcs measured while sampling, round trips). The recommendation
comes first, then the predicted stop-and-copy downtime and whether pre-copy is needed to meet the target.
Repeat --device for a set (default ${DEFAULT_DEVICE}).

  --link RATE             the link's rate (default unlimited): ${RATE_CONVENTION}
  --downtime DURATION     the downtime to aim for (default 300ms)
  --sample BYTES          bytes of each device's data kept for measuring (default 8m), in 1m windows spread over
                          the data the device delivers within --sample-time
  --sample-time DURATION  longest each device's data is read (default 1.5s)
  --measure-time DURATION longest the strategies are measured, all devices together (default 3s)
  --max-workers N         codec threads to try at most (default: the CPU count, up to 4)
  --rtt DURATION          the control round trip to the destination (default 0, as on loopback)
  --json                  the plan as one JSON object: the recommendation, predictedDowntimeMs, every measurement
  -v                      every strategy in the table (default: the best ten)

examples:
  vfio-migrate plan --device sim:gpu,size=1g --link 10gbit
  vfio-migrate plan --device vfio:0000:3b:00.1 --link 1gbps --downtime 100ms --json
  vfio-migrate migrate --plan --max-bandwidth 100MB        (plan, then migrate with the recommendation)`;

type Values = { [k: string]: string | boolean | string[] | undefined };
const str = (v: Values, k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

/** Runs the planner on `devices` with the command line's plan options; `linkRate` in bytes/s (null: none). */
export function planFromValues(
  devices: DeviceSet,
  values: Values,
  linkRate: number | null,
  io: CliIo,
): Promise<DevicesPlanResult> {
  const duration = (k: string, unit: 'ms' | 's') => {
    const t = str(values, k);
    return t === undefined ? undefined : parseDuration(t, `--${k}`, unit);
  };
  const sample = str(values, 'sample');
  return planDevices(devices, {
    linkRate,
    downtimeMs: duration('downtime', 'ms'),
    sampleBytes: sample === undefined ? undefined : parseByteSize(sample, '--sample'),
    sampleTimeMs: duration('sample-time', 's'),
    measureTimeMs: duration('measure-time', 's'),
    maxWorkers: parseCount(str(values, 'max-workers'), '--max-workers', 1),
    rttMs: duration('rtt', 'ms'),
    signal: io.signal,
  });
}

const sizeFlag = (n: number) => (n % (1 << 20) === 0 ? `${n >> 20}m` : n % 1024 === 0 ? `${n >> 10}k` : `${n}`);
const ms = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;

/**
 * migrate's and send's --plan: plans the source devices first (over --max-bandwidth's link) and says what it found
 * and what the migration will use (the options given on the command line win over the recommendation).
 */
export async function planForMigration(
  devices: DeviceSet,
  values: Values,
  streamOptions: StreamSettings,
  linkRate: number | null,
  io: CliIo,
  command: 'migrate' | 'send',
): Promise<DevicesPlan | undefined> {
  if (!values.plan) return undefined;
  const r = await planFromValues(devices, values, linkRate, io);
  const used = strategyOf(withPlanDefaults(streamOptions, r.plan));
  const differs = strategyName(used) !== strategyName(r.plan.recommendation);
  if (values.json) {
    io.err(`${toJson({ event: 'plan', ...planJson(r, command), using: used, measurements: undefined })}\n`);
  } else if (io.verbosity !== 'quiet') {
    io.err(
      `plan: ${strategyName(r.plan.recommendation)}, predicted stop-and-copy downtime ${Math.round(r.plan.predictedDowntimeMs)} ms` +
        `${r.plan.precopyNeeded ? ' (over the target: pre-copy needed)' : ''}` +
        `${differs ? `; using ${strategyName(used)} (as given on the command line)` : ''}\n`,
    );
  }
  return r.plan;
}

/** The plan as --json carries it. */
export function planJson(r: DevicesPlanResult, command = 'plan') {
  const p = r.plan;
  return {
    ok: true,
    command,
    recommendation: p.recommendation,
    strategy: strategyName(p.recommendation),
    predictedDowntimeMs: p.predictedDowntimeMs,
    predictionErrorMs: p.predictionErrorMs,
    targetDowntimeMs: p.targetDowntimeMs,
    precopyNeeded: p.precopyNeeded,
    link: p.linkRate,
    stopCopyBytes: p.stopCopyBytes,
    transfer: p.transfer,
    fixedMs: p.fixedMs,
    fixedCosts: p.fixedCosts,
    threadEfficiency: r.threadEfficiency,
    devices: r.samples.map((s) => ({
      id: s.device,
      via: s.via,
      stopCopyBytes: s.stopCopyBytes,
      dataBytes: s.dataBytes,
      sampleBytes: s.data.length,
      windows: s.offsets.length,
      windowBytes: s.windowBytes,
      offsets: s.offsets,
      scannedBytes: s.scannedBytes,
      readRate: s.readRate,
      stoppedMs: s.stoppedMs,
      arcMs: s.arcMs,
      elapsedMs: s.elapsedMs,
    })),
    strategies: p.strategies.map((s) => ({
      name: s.name,
      ...s.strategy,
      ratio: s.devices.reduce((a, d, i) => a + d.ratio * p.devices[i]!.stopCopyBytes, 0) / Math.max(1, p.stopCopyBytes),
      devices: s.devices,
      transferMs: s.transfer.transferMs,
      bottleneck: s.transfer.bottleneck,
      stageMs: s.transfer.stageMs,
      downtimeMs: s.downtimeMs,
    })),
    measurements: r.measurements.map((m) => ({ ...m, name: strategyName(m.strategy) })),
    skipped: r.skipped,
    measureMs: r.measureMs,
  };
}

/** The human report: the recommendation first, then a short table. */
export function renderPlan(r: DevicesPlanResult, all = false): string {
  const p = r.plan;
  const t = p.transfer;
  const lines = [
    `recommended: ${strategyName(p.recommendation)}  (--codec ${p.recommendation.codec}` +
      `${p.recommendation.codec === 'zstd' ? ` --level ${p.recommendation.level}` : ''} --chunking ` +
      `${p.recommendation.chunking} --chunk-size ${sizeFlag(p.recommendation.chunkSize)} ` +
      `--workers ${p.recommendation.workers})`,
    `predicted stop-and-copy downtime ${ms(p.predictedDowntimeMs)} ± ${ms(p.predictionErrorMs)} against a target of ` +
      `${ms(p.targetDowntimeMs)}: ${p.precopyNeeded ? 'pre-copy needed' : 'stop-and-copy meets it (pre-copy not needed)'}`,
    `  ${formatBytes(p.stopCopyBytes)} of STOP_COPY data -> ${formatBytes(Math.round(t.wireBytes))} on the wire over ` +
      `${p.linkRate === null ? 'an unlimited link' : `a link of ${formatRate(p.linkRate)}`}: transfer ${ms(t.transferMs)} ` +
      `(${t.bottleneck}-bound), fixed costs ${ms(p.fixedMs)} (arcs ${ms(p.fixedCosts.sourceArcMs)} each)`,
  ];
  for (const s of r.samples) {
    lines.push(
      `  ${s.device}: sampled ${formatBytes(s.data.length)} in ${s.offsets.length} window(s) over ` +
        `${formatBytes(s.scannedBytes)} of ${formatBytes(s.dataBytes)} via ${s.via}` +
        `${s.via === 'stop-copy' ? ` (stopped ${ms(s.stoppedMs)})` : ' (kept running)'}, read ${formatRate(s.readRate)}`,
    );
  }
  const rows = all ? p.strategies : p.strategies.slice(0, 10);
  const table = [['strategy', 'ratio', 'encode', 'decode', 'transfer', 'downtime', 'bound by']];
  for (const s of rows) {
    const w = (f: (d: (typeof s.devices)[number]) => number) =>
      s.devices.reduce((a, d, i) => a + f(d) * p.devices[i]!.stopCopyBytes, 0) / Math.max(1, p.stopCopyBytes);
    table.push([
      s.name,
      w((d) => d.ratio).toFixed(3),
      formatRate(w((d) => d.encodeRate)),
      formatRate(w((d) => d.decodeRate)),
      ms(s.transfer.transferMs),
      ms(s.downtimeMs),
      s.transfer.bottleneck,
    ]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  lines.push('');
  for (const row of table)
    lines.push(
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );
  if (!all && p.strategies.length > rows.length) lines.push(`(${p.strategies.length - rows.length} more with -v)`);
  if (r.skipped.length > 0) lines.push(`not measured in --measure-time: ${r.skipped.join(', ')}`);
  if (r.threadEfficiency === null) lines.push('codec threads beyond one not measured: counted as no gain');
  return `${lines.join('\n')}\n`;
}

export const planCommand = defineCommand({
  name: 'plan',
  summary: 'measure stream strategies on samples of the devices and predict the best one and its downtime',
  usage,
  options: {
    device: { type: 'string', multiple: true },
    link: { type: 'string' },
    downtime: { type: 'string' },
    ...planOptionSpec,
    json: { type: 'boolean' },
  },
  optionValues: { device: 'device', link: ['unlimited', '1gbit', '10gbit', '25gbit', '100gbit'] },
  async run({ values }, io) {
    const link = values.link === undefined ? null : parseRate(values.link, '--link', { allowUnlimited: true });
    const linkRate = link !== null && Number.isFinite(link) ? link : null;
    const devices = await DeviceSet.open(values.device ?? [DEFAULT_DEVICE], { role: 'source', signal: io.signal });
    try {
      const r = await planFromValues(devices, values, linkRate, io);
      if (values.json) io.out(`${toJson(planJson(r))}\n`);
      else if (io.verbosity !== 'quiet') io.out(renderPlan(r, io.verbosity === 'verbose'));
      return 0;
    } finally {
      await devices.close();
    }
  },
});
