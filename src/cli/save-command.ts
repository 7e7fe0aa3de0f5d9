// `vfio-migrate save`: a device's migration data into a stream file, stdout, or a socket.
import { DEFAULT_DEVICE } from '../device/open-device.ts';
import { UsageError } from '../errors.ts';
import { saveDevice } from '../pipeline/device-save.ts';
import { DEFAULT_CODEC } from '../pipeline/stream-saver.ts';
import type { Codec } from '../stream/index.ts';
import { openSink } from '../transport/open-transport.ts';
import { defineCommand, toJson } from './command.ts';
import { openTransferDevice } from './open-transfer-device.ts';
import { formatBytes, formatRate } from './progress-render.ts';
import { savedSections, streamDigestHex } from './result-json.ts';
import { refuseTerminal } from './terminal-guard.ts';
import {
  parseByteSize,
  parseCount,
  transferOptionSpec,
  transferOptionValues,
  transferSettings,
  transferUsage,
} from './transfer-options.ts';
import { pipelineReport } from './verbose-report.ts';

const usage = `usage: vfio-migrate save [--device SPEC] -o OUT [--codec lz4|zstd|none] [--level N]
                         [--chunking fixed|cdc] [--chunk-size BYTES] [--precopy [--precopy-rounds N]] [options]

Steps the device to STOP_COPY (after pre-copy rounds with --precopy, when the device supports PRE_COPY), streams
its migration data through the pipeline into OUT, then returns it to RUNNING (--then stop: STOP). If anything
fails the device is returned to RUNNING and the error reported. Prints bytes, ratio, throughput and the device's
state digest. --device defaults to ${DEFAULT_DEVICE}.

  -o, --output OUT      where the stream goes (see transport below); a file appears only once the device confirmed
                        the end of its data (an existing file survives a failed save; new files are 0600, a
                        replaced file keeps its mode; a symlink is written through)
  --no-clobber          refuse to replace an existing file (VFM_OUTPUT_EXISTS)
  --codec C             lz4 (default, fastest), zstd (smaller; --level 1..19, default 3) or none
  --chunking M          fixed (default) or cdc (content-defined)
  --chunk-size BYTES    fixed: chunk size (default 1m); cdc: average, a power of two (default 256k)
  --precopy             pre-copy rounds before stopping the device (up to --precopy-rounds, default 4)
  --force-tty           write the stream to stdout (-o -) even when it is a terminal

${transferUsage}

examples:
  vfio-migrate save --device sim:gpu,size=1g -o gpu.vfm
  vfio-migrate save -o - --codec zstd | zstd -d > device-state.bin
  vfio-migrate load --device sim:nic -i tcp://:7000 &   vfio-migrate save --device sim:nic -o tcp://127.0.0.1:7000`;

const CODECS: readonly Codec[] = ['lz4', 'zstd', 'none'];

export const saveCommand = defineCommand({
  name: 'save',
  summary: "save a device's migration state to a file, stdout or a socket",
  usage,
  options: {
    ...transferOptionSpec,
    output: { type: 'string', short: 'o' },
    codec: { type: 'string' },
    level: { type: 'string' },
    chunking: { type: 'string' },
    'chunk-size': { type: 'string' },
    precopy: { type: 'boolean' },
    'precopy-rounds': { type: 'string' },
    'force-tty': { type: 'boolean' },
    'no-clobber': { type: 'boolean' },
  },
  optionValues: { ...transferOptionValues, output: 'file', codec: CODECS, chunking: ['fixed', 'cdc'] },
  dataOnStdout: (values) => values.output === '-',
  async run({ values }, io) {
    if (!values.output) throw new UsageError('save needs -o OUT (a file, -, tcp://, tls:// or unix:)');
    const codec = (values.codec ?? DEFAULT_CODEC) as Codec;
    if (!CODECS.includes(codec))
      throw new UsageError(`--codec must be lz4, zstd or none, not ${JSON.stringify(values.codec)}`);
    const chunking = values.chunking ?? 'fixed';
    if (chunking !== 'fixed' && chunking !== 'cdc') {
      throw new UsageError(`--chunking must be fixed or cdc, not ${JSON.stringify(values.chunking)}`);
    }
    const level = parseCount(values.level, '--level', 1);
    const rounds = parseCount(values['precopy-rounds'], '--precopy-rounds', 1);
    const chunkSize =
      values['chunk-size'] === undefined ? undefined : parseByteSize(values['chunk-size'], '--chunk-size');
    const {
      workers,
      budget,
      idleMs,
      leaveIn,
      json,
      spec,
      progress,
      transport: topts,
    } = await transferSettings(values, io, 'save', values.output);
    // With the stream on stdout, the report goes to stderr.
    const report = spec.kind === 'stdio' ? io.err : io.out;
    refuseTerminal(spec, io, 'save', values['force-tty']);

    const deviceSpec = values.device ?? DEFAULT_DEVICE;
    // The output opens while the device's thread starts (the longer of the two): a device that fails to open wins,
    // and takes the opened output down with it (a file's partial copy removed).
    const opening = openSink(spec, { ...topts, exclusive: Boolean(values['no-clobber']) });
    opening.catch(() => {});
    let device: Awaited<ReturnType<typeof openTransferDevice>>;
    try {
      device = await openTransferDevice(deviceSpec, { role: 'source', signal: io.signal });
    } catch (err) {
      await opening.then((sink) => sink.abort(err)).catch(() => {});
      throw err;
    }
    try {
      const sink = await opening;
      const result = await saveDevice(device, sink, {
        codec,
        level,
        chunking,
        chunkSize,
        workers,
        budget,
        leaveIn,
        precopy: values.precopy ? { maxRounds: rounds } : false,
        deviceIdleMs: idleMs,
        signal: io.signal,
        onProgress: progress.listener,
      }).finally(() => progress.close());
      const summary = {
        ok: true,
        command: 'save',
        device: result.device,
        output: values.output,
        codec: result.header.codec,
        level: result.header.level,
        chunking: result.header.chunking,
        streamId: Buffer.from(result.header.streamId).toString('hex'),
        bytes: result.bytes,
        wireBytes: result.wireBytes,
        ratio: result.ratio,
        chunks: result.totals.chunkCount,
        zeroChunks: result.totals.zeroChunks,
        storedChunks: result.totals.storedChunks,
        sections: savedSections(result.sections),
        precopyRounds: result.precopyRounds,
        elapsedMs: Math.round(result.elapsedMs),
        throughput: Math.round(result.throughput),
        workers: result.workers,
        budget: result.budget,
        peakInFlight: result.peakInFlight,
        digest: result.digest,
        streamDigest: streamDigestHex(result.totals.digest),
        finalState: result.finalState,
      };
      if (io.verbosity === 'verbose') io.err(await pipelineReport(result, device));
      if (json) report(`${toJson(summary)}\n`);
      else if (io.verbosity !== 'quiet') {
        report(
          `saved ${result.device} -> ${values.output}: ${formatBytes(result.bytes)} in ${formatBytes(result.wireBytes)} ` +
            `(ratio ${result.ratio.toFixed(3)}, ${result.header.codec}, ${result.totals.chunkCount} chunks) ` +
            `in ${(result.elapsedMs / 1000).toFixed(2)} s, ${formatRate(result.throughput)}\n` +
            `device now ${result.finalState}; state digest ${result.digest ?? '(device gives none)'}\n`,
        );
      }
      return 0;
    } finally {
      await device.close().catch(() => {});
    }
  },
});
