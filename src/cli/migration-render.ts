// How migrate, send and receive report on the command line: a line per phase and per pre-copy round on stderr
// (with a live line redrawn on a terminal while pre-copy runs), NDJSON events with --json; the result on stdout.
import type { MigrationEventMap, MigrationEventType, MigrationResult } from '../migration/index.ts';
import type { CliIo } from './command.ts';
import { toJson } from './command.ts';
import { formatBytes, formatRate } from './progress-render.ts';

type Listen = <K extends MigrationEventType>(
  type: K,
  listener: (d: MigrationEventMap[K] & { side: string }) => void,
) => void;

const ms = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `${n.toFixed(n < 10 ? 1 : 0)} ms`);

/** Reports a migration's events as it runs; `close()` clears a live line. */
export function reportMigration(io: CliIo, on: Listen, opts: { json: boolean; live: boolean }) {
  const quiet = io.verbosity === 'quiet';
  let drawn = false;
  const line = (text: string) => {
    if (drawn) io.err('\r\x1b[2K');
    drawn = false;
    io.err(`${text}\n`);
  };
  if (opts.json) {
    for (const type of [
      'listening',
      'refused',
      'phase',
      'state',
      'round',
      'progress',
      'switchover-ready',
      'quiesced',
      'switchover-ack',
      'warning',
    ] as const) {
      on(type, (d) => io.err(`${toJson({ event: type, ...d })}\n`));
    }
    return { close() {} };
  }
  if (quiet) {
    on('warning', (d) => line(`warning: ${d.message}`));
    return { close() {} };
  }
  on('listening', (d) => line(`listening on ${d.address}`));
  on('refused', (d) => line(`refused ${d.peer}: ${d.reason}; still listening`));
  on('phase', (d) => {
    if (d.phase === 'handshake' || d.phase === 'cleanup' || d.phase === 'done') return;
    line(`  ${d.side.padEnd(11)} ${d.phase}`);
  });
  on('round', (d) =>
    line(
      `  ${'source'.padEnd(11)} round ${d.round}: ${formatBytes(d.bytes)} in ${ms(d.ms)}, dirtying ` +
        `${formatRate(d.dirtyRate)}, ${formatBytes(d.remainingBytes)} left, throughput ${formatRate(d.throughput)}, ` +
        `predicted downtime ${ms(d.prediction.downtimeMs)} ± ${ms(d.prediction.errorMs)}`,
    ),
  );
  on('switchover-ready', (d) =>
    line(
      `  ${'source'.padEnd(11)} switchover: ${d.converged ? 'converged' : 'not converged'} (${d.reason})` +
        (d.prediction ? `, predicted downtime ${ms(d.prediction.downtimeMs)}` : ''),
    ),
  );
  on('warning', (d) => line(`warning: ${d.message}`));
  if (opts.live) {
    on('progress', (d) => {
      const text =
        `pre-copy round ${d.round}: ${formatBytes(d.bytes)} at ${formatRate(d.rate)}, dirtying ${formatRate(d.dirtyRate)}` +
        (d.predictedDowntimeMs === null ? '' : `, predicted downtime ${ms(d.predictedDowntimeMs)}`);
      const cols = io.errColumns?.() ?? 80;
      io.err(`\r\x1b[2K${text.slice(0, Math.max(10, cols - 1))}`);
      drawn = true;
    });
  }
  return {
    close() {
      if (drawn) io.err('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** The --json result: `ok` and `command` first, then the library's result, then `extra` (digests...). */
export function migrationJson(
  command: string,
  result: MigrationResult,
  extra: { ok?: boolean; [key: string]: unknown } = {},
): string {
  const { ok: _ok, ...rest } = result;
  return toJson({ ok: extra.ok ?? true, command, ...rest, ...extra });
}

/** The human summary of a result (the source's, with its downtime; or the destination's). */
export function renderMigration(result: MigrationResult, peerLabel?: string): string {
  const lines: string[] = [];
  const b = result.breakdown;
  if (result.downtimeMs !== null) {
    lines.push(
      `downtime ${ms(result.downtimeMs)}${result.downtimeUpperBound ? ' (upper bound: measured to the final ack)' : ''}` +
        (result.predictedDowntimeMs === null
          ? ''
          : `, predicted ${ms(result.predictedDowntimeMs)} ± ${ms(result.predictionErrorMs)}`),
    );
  }
  if (b) {
    lines.push(
      `  quiesce ${ms(b.quiesceMs)}, hook ${ms(b.hookMs)}, stop ${ms(b.stopMs)}, final transfer ${ms(b.finalTransferMs)}, ` +
        `destination finish ${ms(b.destinationFinishMs)}, start ${ms(b.destinationStartMs)}, ack ${ms(b.ackMs)}`,
    );
  }
  const c = result.convergence;
  lines.push(
    `${c.precopy ? `pre-copy: ${c.rounds} round(s), ${c.converged ? 'converged' : 'not converged'} (${c.reason})` : 'stop-and-copy'}; ` +
      `moved ${formatBytes(result.bytes)} in ${formatBytes(result.wireBytes)} (ratio ${result.ratio.toFixed(3)}) in ` +
      `${(result.totalMs / 1000).toFixed(2)} s, pre-copy ${formatBytes(result.phases.precopy.bytes)}, ` +
      `stop-copy ${formatBytes(result.phases.stopCopy.bytes)}`,
  );
  for (const d of result.devices) {
    lines.push(
      `${result.side === 'source' ? 'source' : 'destination'} ${d.index} ${d.id}: ${d.finalState}, digest ${d.digest ?? '(none)'}`,
    );
    const peer = result.peerDigests[d.index];
    if (peerLabel && peer !== undefined) {
      lines.push(
        `${peerLabel} ${d.index}: digest ${peer ?? '(none)'}${peer && d.digest ? (peer === d.digest ? ' (equal)' : ' (DIFFERENT)') : ''}`,
      );
    }
  }
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
