// The options migrate, send and receive share, and how they map to the library's migration options.
import { UsageError } from '../errors.ts';
import type { LinkOptions, SourceMigrationOptions } from '../migration/index.ts';
import type { Codec } from '../stream/index.ts';
import { LinkRateLimiter, parseRate } from '../transport/rate-limit.ts';
import { loadTlsFiles } from '../transport/tls-config.ts';
import type { CompletionHint, OptionTable } from './command.ts';
import { parseByteSize, parseCount } from './transfer-options.ts';

export const streamOptionSpec = {
  codec: { type: 'string' },
  level: { type: 'string' },
  chunking: { type: 'string' },
  'chunk-size': { type: 'string' },
  workers: { type: 'string' },
  budget: { type: 'string' },
} as const satisfies OptionTable;

/** What of the stream a receiver chooses: the codec and chunking are the sender's, its memory is its own. */
export const receiverStreamOptionSpec = {
  workers: { type: 'string' },
  budget: { type: 'string' },
} as const satisfies OptionTable;

export const convergenceOptionSpec = {
  downtime: { type: 'string' },
  'max-rounds': { type: 'string' },
  'max-time': { type: 'string' },
  'no-precopy': { type: 'boolean' },
  'on-no-converge': { type: 'string' },
  'max-bandwidth': { type: 'string' },
  plan: { type: 'boolean' },
} as const satisfies OptionTable;

/** How the planner samples and measures (plan, and migrate/send with --plan). */
export const planOptionSpec = {
  sample: { type: 'string' },
  'sample-time': { type: 'string' },
  'measure-time': { type: 'string' },
  'max-workers': { type: 'string' },
  rtt: { type: 'string' },
} as const satisfies OptionTable;

/** Every migration command's. */
export const runOptionSpec = {
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
} as const satisfies OptionTable;

/** send's and receive's: the two ends on separate hosts. */
export const tlsOptionSpec = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-servername': { type: 'string' },
  'psk-file': { type: 'string' },
  'psk-identity': { type: 'string' },
} as const satisfies OptionTable;

export const migrationOptionValues = {
  codec: ['lz4', 'zstd', 'none'],
  chunking: ['fixed', 'cdc'],
  'on-no-converge': ['switch', 'abort'],
  'tls-cert': 'file',
  'tls-key': 'file',
  'tls-ca': 'file',
  'psk-file': 'file',
} as const satisfies Record<string, CompletionHint>;

const streamUsage = `stream:
  --codec lz4|zstd|none   compression of each device's stream (default lz4); --level N for zstd
  --chunking fixed|cdc    --chunk-size BYTES   --workers N (codec threads in all)   --budget BYTES (per stream)`;

const receiverStreamUsage = `stream (the codec and chunking are the sender's):
  --workers N             codec threads in all        --budget BYTES   bytes in flight per stream`;

const convergenceUsage = `convergence:
  --downtime DURATION     the downtime to aim for (default 300ms; 1.5s, 250ms, or ms)
  --max-rounds N          pre-copy rounds at most (default 30)
  --max-time DURATION     pre-copy time at most (default 300s)
  --on-no-converge switch|abort   out of rounds or time: switch over anyway (default) or abort
  --no-precopy            stop-and-copy: no pre-copy rounds, the same protocol and statistics
  --max-bandwidth RATE    the link's rate limit for every device stream together, like QEMU's max-bandwidth:
                          10gbit or 1gbps (bits/s), 100MB (bytes/s), 100MiB or 100m (bytes/s, binary), unlimited
  --plan                  run the planner first (as 'vfio-migrate plan' over --max-bandwidth's link): its
                          recommendation sets the --codec, --level, --chunking, --chunk-size and --workers not given,
                          and its model predicts a stop-and-copy downtime; --sample, --sample-time,
                          --measure-time, --max-workers and --rtt as for plan`;

const tlsUsage = `  --tls-cert FILE --tls-key FILE --tls-ca FILE --tls-servername NAME   TLS with certificates (tls://)
  --psk-file FILE [--psk-identity ID]   TLS with a pre-shared key (hex)`;

const runUsage = `  --timeout SEC           fail when the peer or a device moves nothing for SEC (default 60)
  --json                  the result as one JSON object on stdout; events as NDJSON on stderr
  --no-progress           no live line (phases and rounds are still reported)`;

/** The options part of each migration command's usage. */
export const migrationUsage = {
  migrate: `${streamUsage}\n${convergenceUsage}\nrun:\n${runUsage}`,
  send: `${streamUsage}\n${convergenceUsage}\nlink:
  --connect-timeout SEC   keep retrying while nobody listens (default 10)
${tlsUsage}\n${runUsage}`,
  receive: `${receiverStreamUsage}\nlink:
  --accept-timeout SEC    wait this long for the source (default 300, 0 = forever)
${tlsUsage}\n${runUsage}`,
};

/** `300ms`, `1.5s`, `2m`; a bare number is in `unit`. */
export function parseDuration(text: string, what: string, unit: 'ms' | 's'): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${what} must be a duration like 300ms, 1.5s or 2m, not ${JSON.stringify(text)}`);
  const u = (m[2] ?? unit).toLowerCase();
  return Number(m[1]) * (u === 'ms' ? 1 : u === 's' ? 1000 : 60_000);
}

type Values = { [k: string]: string | boolean | string[] | undefined };

const str = (v: Values, k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

export function streamOptions(values: Values) {
  // unset stays undefined: the pipeline's defaults, or a plan's recommendation (--plan), fill it in
  const codec = str(values, 'codec');
  if (codec !== undefined && !['lz4', 'zstd', 'none'].includes(codec)) {
    throw new UsageError(`--codec must be lz4, zstd or none, not ${JSON.stringify(codec)}`);
  }
  const chunking = str(values, 'chunking');
  if (chunking !== undefined && chunking !== 'fixed' && chunking !== 'cdc') {
    throw new UsageError(`--chunking must be fixed or cdc, not ${JSON.stringify(chunking)}`);
  }
  const chunkSize = str(values, 'chunk-size');
  const budget = str(values, 'budget');
  return {
    codec: codec as Codec | undefined,
    level: parseCount(str(values, 'level'), '--level', 1),
    chunking: chunking as 'fixed' | 'cdc' | undefined,
    chunkSize: chunkSize === undefined ? undefined : parseByteSize(chunkSize, '--chunk-size'),
    workers: parseCount(str(values, 'workers'), '--workers'),
    budget: budget === undefined ? undefined : parseByteSize(budget, '--budget'),
  };
}

export function convergenceOptions(values: Values): Partial<SourceMigrationOptions> {
  const onNoConverge = str(values, 'on-no-converge') ?? 'switch';
  if (onNoConverge !== 'switch' && onNoConverge !== 'abort') {
    throw new UsageError(`--on-no-converge must be switch or abort, not ${JSON.stringify(onNoConverge)}`);
  }
  const downtime = str(values, 'downtime');
  const maxTime = str(values, 'max-time');
  return {
    precopy: !values['no-precopy'],
    downtimeMs: downtime === undefined ? undefined : parseDuration(downtime, '--downtime', 'ms'),
    maxRounds: parseCount(str(values, 'max-rounds'), '--max-rounds', 1),
    maxTimeMs: maxTime === undefined ? undefined : parseDuration(maxTime, '--max-time', 's'),
    onNoConverge,
  };
}

/** --max-bandwidth's limiter: none when not given or `unlimited`. */
function limiterFor(text: string | undefined): LinkRateLimiter | undefined {
  if (text === undefined) return undefined;
  const rate = parseRate(text, '--max-bandwidth', { allowUnlimited: true });
  return Number.isFinite(rate) ? new LinkRateLimiter(rate) : undefined;
}

/** The link options; `limit`: whether --max-bandwidth applies (the sending side's). */
export async function linkOptions(
  values: Values,
  signal: AbortSignal,
): Promise<{ link: LinkOptions; idleMs: number; acceptTimeoutMs: number }> {
  const timeout = parseCount(str(values, 'timeout'), '--timeout') ?? 60;
  const connectTimeout = parseCount(str(values, 'connect-timeout'), '--connect-timeout') ?? 10;
  const acceptTimeout = parseCount(str(values, 'accept-timeout'), '--accept-timeout') ?? 300;
  const bandwidth = str(values, 'max-bandwidth');
  const tls = await loadTlsFiles({
    certFile: str(values, 'tls-cert'),
    keyFile: str(values, 'tls-key'),
    caFile: str(values, 'tls-ca'),
    pskFile: str(values, 'psk-file'),
    pskIdentity: str(values, 'psk-identity'),
    servername: str(values, 'tls-servername'),
  });
  return {
    link: {
      signal,
      tls,
      connectTimeoutMs: connectTimeout * 1000,
      limiter: limiterFor(bandwidth),
    },
    idleMs: timeout * 1000,
    acceptTimeoutMs: acceptTimeout * 1000,
  };
}
