// The options save and load share: sizes, workers, budget, transports and TLS, and how they map to the library.
import { UsageError } from '../errors.ts';
import type { OpenTransportOptions } from '../transport/open-transport.ts';
import { loadTlsFiles } from '../transport/tls-config.ts';
import { parseTransportSpec, type TransportSpec } from '../transport/transport-spec.ts';
import { type CliIo, type CompletionHint, toJson } from './command.ts';
import { chooseProgressMode, progressRenderer } from './progress-render.ts';

export const transferOptionSpec = {
  device: { type: 'string' },
  workers: { type: 'string' },
  budget: { type: 'string' },
  listen: { type: 'boolean' },
  connect: { type: 'boolean' },
  // biome-ignore lint/suspicious/noThenProperty: the flag is --then, as the issue names it; this object is never awaited
  then: { type: 'string' },
  timeout: { type: 'string' },
  'min-rate': { type: 'string' },
  'header-timeout': { type: 'string' },
  'accept-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-servername': { type: 'string' },
  'psk-file': { type: 'string' },
  'psk-identity': { type: 'string' },
  'no-progress': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const transferUsage = `transport (-o/-i): -  PATH  tcp://HOST:PORT  tls://HOST:PORT  unix:PATH
  By default load listens and save connects (save retries while nobody listens yet, see --connect-timeout); --listen on save
  or --connect on load flips it. A listener binds 127.0.0.1 unless HOST says otherwise; PORT 0 picks a free port
  (the address is printed on stderr). One peer per run.
  --tls-cert FILE --tls-key FILE   certificate the listener presents (and the connector, for mutual TLS)
  --tls-ca FILE                    CA the peer's certificate must chain to (listener: requires client certificates)
  --tls-servername NAME            name expected in the listener's certificate (default: the host dialled)
  --psk-file FILE [--psk-identity ID]  pre-shared key (hex) instead of certificates (identity default vfio-migrate)
  --timeout SEC                    fail when the peer or the device moves nothing for SEC seconds (default 60, 0 = never)
  --min-rate RATE                  fail when less than RATE per second moves over SEC seconds of waiting on the peer,
                                   so a peer cannot hold this side by trickling (default 64k, 0 = off)
  --header-timeout SEC             load: the stream header must arrive within SEC seconds (default: --timeout)
  --accept-timeout SEC             listener: give up when no acceptable peer connects within SEC (default 300, 0 = never);
                                   a peer that fails TLS or does not start a stream within 10 s is refused, and the
                                   listener waits for the next
  --connect-timeout SEC            connector: keep retrying while nobody listens this long (default 10)

pipeline:
  --workers N      codec threads (default: CPU count, at most 4, less a core per simulated device; 0 = none, on
                   the main thread, the default for --codec none, for streams of two chunks or less, and for lz4
                   where fewer than two cores are left)
  --budget BYTES   bytes in flight between source and sink (default 3 chunks per worker, at least 4)
  --then running|stop   state to leave the device in afterwards (default running)
  --json           one result object on stdout (stderr when -o -), progress as NDJSON on stderr
  --no-progress    no progress output (a bar is drawn when stderr is a terminal)
sizes take k, m, g suffixes (powers of 1024).`;

/** `4096`, `64k`, `1m`, `4g` (powers of 1024). */
export function parseByteSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${what} must be a byte count like 4096, 64k, 1m or 4g, not ${JSON.stringify(text)}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what} ${JSON.stringify(text)} is out of range`);
  return n;
}

export function parseCount(text: string | undefined, what: string, min = 0): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${what} must be an integer >= ${min}, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function parseThen(text: string | undefined): 'running' | 'stop' | undefined {
  if (text === undefined) return undefined;
  const t = text.toLowerCase();
  if (t === 'running' || t === 'stop') return t;
  throw new UsageError(`--then must be running or stop, not ${JSON.stringify(text)}`);
}

type TransferValues = {
  [K in keyof typeof transferOptionSpec]?: (typeof transferOptionSpec)[K]['type'] extends 'boolean' ? boolean : string;
};

/** Transport options from the parsed flags; `defaultListen` is the side's default role. */
export async function transportOptions(
  values: TransferValues,
  defaultListen: boolean,
  signal: AbortSignal,
  onListening: (address: string) => void,
  onRefused?: (peer: string, reason: string) => void,
): Promise<OpenTransportOptions> {
  if (values.listen && values.connect) throw new UsageError('--listen and --connect exclude each other');
  const timeout = parseCount(values.timeout, '--timeout') ?? 60;
  const connectTimeout = parseCount(values['connect-timeout'], '--connect-timeout') ?? 10;
  const acceptTimeout = parseCount(values['accept-timeout'], '--accept-timeout') ?? 300;
  const rate = values['min-rate'];
  const minRate =
    rate === undefined ? DEFAULT_MIN_RATE : rate === '0' ? 0 : parseByteSize(rate.replace(/\/s$/i, ''), '--min-rate');
  const tls = await loadTlsFiles({
    certFile: values['tls-cert'],
    keyFile: values['tls-key'],
    caFile: values['tls-ca'],
    pskFile: values['psk-file'],
    pskIdentity: values['psk-identity'],
    servername: values['tls-servername'],
  });
  return {
    listen: values.listen ? true : values.connect ? false : defaultListen,
    signal,
    tls,
    idleTimeoutMs: timeout * 1000,
    minRate: timeout > 0 ? minRate : 0,
    connectTimeoutMs: connectTimeout * 1000,
    acceptTimeoutMs: acceptTimeout * 1000,
    onListening,
    onRefused,
  };
}

/** Bytes per second below which a peer counts as stalled, by default (a migration this slow is broken anyway). */
export const DEFAULT_MIN_RATE = 64 << 10;

export interface TransferSettings {
  workers: number | undefined;
  budget: number | undefined;
  /** --timeout in ms (0: none): also the device's idle limit. */
  idleMs: number;
  /** load: the header deadline in ms. */
  headerTimeoutMs: number;
  leaveIn: 'running' | 'stop' | undefined;
  json: boolean;
  /** Where the stream goes (save) or comes from (load). */
  spec: TransportSpec;
  progress: ReturnType<typeof progressRenderer>;
  transport: OpenTransportOptions;
}

/** What save and load both take from their flags; `endpoint` is the -o or -i value. Load listens by default. */
export async function transferSettings(
  values: TransferValues,
  io: CliIo,
  command: 'save' | 'load',
  endpoint: string,
): Promise<TransferSettings> {
  const json = Boolean(values.json);
  const workers = parseCount(values.workers, '--workers');
  const budget = values.budget === undefined ? undefined : parseByteSize(values.budget, '--budget');
  const then = parseThen(values.then);
  const spec = parseTransportSpec(endpoint);
  const transport = await transportOptions(
    values,
    command === 'load',
    io.signal,
    (address) => io.err(json ? `${toJson({ event: 'listening', address })}\n` : `listening on ${address}\n`),
    (peer, reason) =>
      io.err(
        json ? `${toJson({ event: 'refused', peer, reason })}\n` : `refused ${peer}: ${reason}; still listening\n`,
      ),
  );
  const progress = progressRenderer(io, chooseProgressMode(io, json, Boolean(values['no-progress'])), command);
  const idleMs = transport.idleTimeoutMs ?? 0;
  const headerTimeout = parseCount(values['header-timeout'], '--header-timeout');
  const headerTimeoutMs = headerTimeout === undefined ? idleMs : headerTimeout * 1000;
  return { workers, budget, idleMs, headerTimeoutMs, leaveIn: then, json, spec, progress, transport };
}

/** What shell completion offers for the values of the shared options. */
export const transferOptionValues = {
  device: 'device',
  // biome-ignore lint/suspicious/noThenProperty: the --then option, as above; this object is never awaited
  then: ['running', 'stop'],
  'tls-cert': 'file',
  'tls-key': 'file',
  'tls-ca': 'file',
  'psk-file': 'file',
} as const satisfies { [K in keyof typeof transferOptionSpec]?: CompletionHint };
