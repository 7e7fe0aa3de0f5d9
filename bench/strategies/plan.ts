// Which strategies run, and how each side of each is started. Every strategy varies one dimension from the base
// (lz4, 1 MiB fixed chunks, default workers, through a pipe, on the mixed corpus), so each row reads on its own.
// The pipeline alone runs as bench/pipeline-ends.ts --dist, in its JavaScript copy (encode | decode, one end per
// process, the built library as users run it); devices, transports and the full CLI path run as
// `vfio-migrate save | load` (the bin, dist/cli/launcher.js, as users run it) with simulated devices.
import { join } from 'node:path';
import type { DeviceCorpusName } from '../core/corpus.ts';
import { DEVICE_CORPORA } from '../core/corpus.ts';
import { type SimProfile, simSpec, wholePages } from './corpora.ts';
import { pipelineEndsScript } from './ends-script.ts';
import { q } from './rss.ts';
import type { PairSpec } from './runner.ts';
import type { TlsFiles } from './tls-certs.ts';
import { type Codec, type Link, type TwinCodec, twinName, twinPipe, twinSocket, twinWireCommand } from './twins.ts';
import type { Group } from './types.ts';

/** What a run is given: the data (a file; for devices also the device size), and a fresh address for sockets. */
export interface Io {
  file: string;
  simSize: number;
  port: number;
  sock: string;
  tls: TlsFiles | null;
}

/** The data a strategy moves: a corpus file, or a simulated device (whose raw state the twin reads from a file). */
export type DataRef =
  | { kind: 'corpus'; name: DeviceCorpusName; bytes: number }
  | { kind: 'sim'; profile: SimProfile; bytes: number };

export interface Strategy {
  id: string;
  group: Group;
  label: string;
  data: DataRef;
  workers?: number;
  ours: { name: string; pair: (io: Io) => PairSpec };
  twin: { name: string; pair: (io: Io) => PairSpec; wire: ((io: Io) => string) | null };
}

export interface Tools {
  /** The Node running the benchmark, and the paths of the scripts it starts. */
  node: string;
  deno: string | null;
  root: string;
}

export function dataName(d: DataRef): string {
  return d.kind === 'corpus' ? d.name : `sim:${d.profile}`;
}

interface PipelineOptions {
  codec: Codec;
  level?: number;
  chunkSize?: number;
  chunking?: 'fixed' | 'cdc';
  workers?: number;
}

function pipelineEnds(t: Tools, o: PipelineOptions): (io: Io) => PairSpec {
  const script = q(pipelineEndsScript(t.root));
  const flags = [
    `--codec ${o.codec}`,
    o.level === undefined ? '' : `--level ${o.level}`,
    o.chunkSize ? `--chunk-size ${o.chunkSize}` : '',
    o.chunking ? `--chunking ${o.chunking}` : '',
    o.workers === undefined ? '' : `--workers ${o.workers}`,
  ]
    .filter(Boolean)
    .join(' ');
  const decodeFlags = o.workers === undefined ? '' : ` --workers ${o.workers}`;
  return (io) => ({
    kind: 'pipe',
    procs: [
      { cmd: `${q(t.node)} ${script} encode --dist ${flags} ${q(io.file)}`, end: 0 },
      { cmd: `${q(t.node)} ${script} decode --dist${decodeFlags}`, end: 1 },
    ],
  });
}

function cliEnds(t: Tools, profile: SimProfile, codec: Codec, link: Link): (io: Io) => PairSpec {
  const cli = `${q(t.node)} ${q(join(t.root, 'dist/cli/launcher.js'))}`;
  const common = '--json --no-progress';
  return (io) => {
    const dev = simSpec(profile, io.simSize);
    const save = (to: string, extra = '') => `${cli} save --device ${dev} -o ${to} --codec ${codec} ${common}${extra}`;
    const load = (from: string, extra = '') => `${cli} load --device ${dev} -i ${from} ${common}${extra}`;
    if (link === 'pipe') {
      return {
        kind: 'pipe',
        procs: [
          { cmd: save('-'), end: 0 },
          { cmd: load('-'), end: 1 },
        ],
      };
    }
    const tls = io.tls;
    const addr = link === 'unix' ? `unix:${q(io.sock)}` : `${link === 'tls' ? 'tls' : 'tcp'}://127.0.0.1:${io.port}`;
    const serverTls = link === 'tls' && tls ? ` --tls-cert ${q(tls.cert)} --tls-key ${q(tls.key)}` : '';
    const clientTls = link === 'tls' && tls ? ` --tls-ca ${q(tls.ca)}` : '';
    return {
      kind: 'socket',
      // (each run has a socket path of its own, so none is left over to remove)
      listener: [{ cmd: load(addr, serverTls), end: 1 }],
      connector: [{ cmd: save(addr, clientTls), end: 0 }],
      ready: /"event":"listening"/,
    };
  };
}

function twin(c: TwinCodec, link: Link = 'pipe', t?: Tools): Strategy['twin'] {
  const copier = t ? `${q(t.node)} ${q(join(t.root, 'bench/strategies/socket-copy.ts'))}` : '';
  return {
    name: twinName(c, link),
    pair: (io) =>
      link === 'pipe'
        ? { kind: 'pipe', procs: twinPipe(c, io.file) }
        : { kind: 'socket', ...twinSocket(c, link, io.file, io, copier) },
    wire: c.codec === 'none' ? null : (io) => twinWireCommand(c, io.file),
  };
}

function floorEnds(t: Tools, runtime: 'node' | 'deno'): (io: Io) => PairSpec {
  const script = q(join(t.root, 'bench/strategies/runtime-floor-copy.ts'));
  const run = runtime === 'node' ? `${q(t.node)} ${script}` : `${q(t.deno!)} run --quiet --no-config ${script}`;
  return (io) => ({
    kind: 'pipe',
    procs: [
      { cmd: `${run} < ${q(io.file)}`, end: 0 },
      { cmd: `${run} > /dev/null`, end: 1 },
    ],
  });
}

const CODEC_NAME: Record<Codec, string> = { none: 'none', lz4: 'lz4', zstd: 'zstd -3' };

export function planStrategies(t: Tools, quick: boolean, size: number, simSize: number): Strategy[] {
  const out: Strategy[] = [];
  const corpus = (name: DeviceCorpusName, bytes = size): DataRef => ({ kind: 'corpus', name, bytes });
  const mixed = corpus('mixed');
  const add = (s: Omit<Strategy, 'id'>) => out.push({ ...s, id: `${s.group}/${s.label}/${dataName(s.data)}` });
  const twinOf = (codec: Codec, level?: number, threads?: number): TwinCodec => ({ codec, level, threads });

  // codecs on every corpus
  for (const name of DEVICE_CORPORA) {
    // quick: no compression only where zero chunks make a difference (gpu-like) and on the base corpus
    const codecs: Codec[] =
      quick && name !== 'mixed' && name !== 'gpu-like' ? ['lz4', 'zstd'] : ['none', 'lz4', 'zstd'];
    for (const codec of codecs) {
      add({
        group: 'codec',
        label: CODEC_NAME[codec],
        data: corpus(name),
        ours: { name: `pipeline ${CODEC_NAME[codec]}`, pair: pipelineEnds(t, { codec }) },
        twin: twin(twinOf(codec, codec === 'zstd' ? 3 : undefined)),
      });
    }
  }
  // zstd levels (3 is in the codec group); the slow high levels on an eighth of the data
  for (const level of quick ? [1, 9] : [1, 6, 9, 19]) {
    const data = level >= 10 ? corpus('mixed', wholePages(Math.max(4 << 20, size / 8))) : mixed;
    add({
      group: 'level',
      label: `zstd -${level}`,
      data,
      ours: { name: `pipeline zstd -${level}`, pair: pipelineEnds(t, { codec: 'zstd', level }) },
      twin: twin(twinOf('zstd', level)),
    });
  }
  // chunk sizes around the 1 MiB default
  for (const chunkSize of quick ? ['256k', '4m'] : ['64k', '256k', '4m', '16m']) {
    const bytes = Number.parseInt(chunkSize, 10) * (chunkSize.endsWith('m') ? 2 ** 20 : 1024);
    add({
      group: 'chunk-size',
      label: `lz4 ${chunkSize} chunks`,
      data: mixed,
      ours: { name: `pipeline lz4 ${chunkSize}`, pair: pipelineEnds(t, { codec: 'lz4', chunkSize: bytes }) },
      twin: twin(twinOf('lz4')),
    });
  }
  // content-defined chunking (fixed is the base)
  for (const codec of quick ? (['lz4'] as Codec[]) : (['lz4', 'zstd'] as Codec[])) {
    add({
      group: 'chunking',
      label: `${CODEC_NAME[codec]} cdc`,
      data: mixed,
      ours: { name: `pipeline ${CODEC_NAME[codec]} cdc`, pair: pipelineEnds(t, { codec, chunking: 'cdc' }) },
      twin: twin(twinOf(codec, codec === 'zstd' ? 3 : undefined)),
    });
  }
  // codec threads; zstd's twin gets as many threads (-T1 for our 0, the main thread)
  for (const codec of ['lz4', 'zstd'] as Codec[]) {
    for (const workers of quick && codec === 'zstd' ? [1, 2] : [0, 1, 2, 4]) {
      add({
        group: 'workers',
        label: `${CODEC_NAME[codec]} w=${workers}`,
        data: mixed,
        workers,
        ours: { name: `pipeline ${CODEC_NAME[codec]} workers ${workers}`, pair: pipelineEnds(t, { codec, workers }) },
        twin: twin(codec === 'zstd' ? twinOf('zstd', 3, Math.max(1, workers)) : twinOf('lz4')),
      });
    }
  }
  // transports: the CLI end to end with the simulated NIC, lz4
  for (const link of ['pipe', 'tcp', 'tls', 'unix'] as Link[]) {
    add({
      group: 'transport',
      label: link,
      data: { kind: 'sim', profile: 'nic', bytes: simSize },
      ours: { name: `vfio-migrate save | load lz4 over ${link}`, pair: cliEnds(t, 'nic', 'lz4', link) },
      twin: twin(twinOf('lz4'), link, t),
    });
  }
  // simulated devices through the whole CLI, each codec
  // (quick: the NIC's lz4 is the transport group's pipe row already)
  for (const profile of quick ? (['gpu'] as SimProfile[]) : (['gpu', 'nic'] as SimProfile[])) {
    for (const codec of quick ? (['lz4', 'zstd'] as Codec[]) : (['none', 'lz4', 'zstd'] as Codec[])) {
      add({
        group: 'device',
        label: CODEC_NAME[codec],
        data: { kind: 'sim', profile, bytes: simSize },
        ours: { name: `vfio-migrate save | load ${CODEC_NAME[codec]}`, pair: cliEnds(t, profile, codec, 'pipe') },
        twin: twin(twinOf(codec, codec === 'zstd' ? 3 : undefined)),
      });
    }
  }
  // the runtime floor: a plain copy in each runtime through the same pipe
  for (const runtime of t.deno ? (['node', 'deno'] as const) : (['node'] as const)) {
    add({
      group: 'floor',
      label: `${runtime} copy`,
      data: mixed,
      ours: { name: `${runtime} stdin->stdout | ${runtime} stdin->stdout`, pair: floorEnds(t, runtime) },
      twin: twin(twinOf('none')),
    });
  }
  return out;
}

/** Keeps the strategies `--only` names: a group (`codec`), or a part of an id (`tls`, `gpu-like`). */
export function selectStrategies(all: Strategy[], only: string[] | null): Strategy[] {
  if (!only) return all;
  return all.filter((s) => only.some((o) => s.group === o || s.id.includes(o)));
}
