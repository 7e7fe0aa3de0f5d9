// `vfio-migrate load`: a stream from a file, stdin or a socket into a device's resuming session.
import { DEFAULT_DEVICE } from '../device/open-device.ts';
import { UsageError } from '../errors.ts';
import { loadDevice } from '../pipeline/device-load.ts';
import { openSource } from '../transport/open-transport.ts';
import { defineCommand, toJson } from './command.ts';
import { openTransferDevice } from './open-transfer-device.ts';
import { formatBytes, formatRate } from './progress-render.ts';
import { loadedSections, streamDigestHex } from './result-json.ts';
import { refuseTerminal } from './terminal-guard.ts';
import { transferOptionSpec, transferOptionValues, transferSettings, transferUsage } from './transfer-options.ts';
import { pipelineReport } from './verbose-report.ts';

const usage = `usage: vfio-migrate load [--device SPEC] -i IN [--force] [options]

Reads the stream header and verifies it before touching the device (a foreign, future-version or other-device
stream never reaches it), steps the device to RESUMING, writes each chunk only after its checksum verified,
verifies the trailer, then RESUMING -> STOP (the device validates the state) -> RUNNING (--then stop: STOP).
On any stream error the device is reset (never resumed) and the error reported with its stream offset.
--device defaults to ${DEFAULT_DEVICE}.

  -i, --input IN        where the stream comes from (see transport below)
  --force               load even when the stream's device profile differs from this device's
  --force-tty           read the stream from stdin (-i -) even when it is a terminal

${transferUsage}

examples:
  vfio-migrate load --device sim:gpu,size=1g -i gpu.vfm --json
  ssh src-host vfio-migrate save -o - | vfio-migrate load -i -     (any pipe works)
  vfio-migrate load --device sim:nic -i tls://:7443 --tls-cert srv.pem --tls-key srv.key`;

export const loadCommand = defineCommand({
  name: 'load',
  summary: 'load a saved or streamed migration state into a device (verified before resuming)',
  usage,
  options: {
    ...transferOptionSpec,
    input: { type: 'string', short: 'i' },
    force: { type: 'boolean' },
    'force-tty': { type: 'boolean' },
  },
  optionValues: { ...transferOptionValues, input: 'file' },
  async run({ values }, io) {
    if (!values.input) throw new UsageError('load needs -i IN (a file, -, tcp://, tls:// or unix:)');
    const {
      workers,
      budget,
      idleMs,
      headerTimeoutMs,
      leaveIn,
      json,
      spec,
      progress,
      transport: topts,
    } = await transferSettings(values, io, 'load', values.input);
    refuseTerminal(spec, io, 'load', values['force-tty']);

    const deviceSpec = values.device ?? DEFAULT_DEVICE;
    const device = await openTransferDevice(deviceSpec, { role: 'destination', signal: io.signal });
    try {
      const source = await openSource(spec, topts);
      const result = await loadDevice(source, device, {
        workers,
        budget,
        leaveIn,
        checkDevice: !values.force,
        deviceIdleMs: idleMs,
        headerTimeoutMs: headerTimeoutMs || undefined,
        // Loud, at once, on stderr: a person watching sees it whatever the output mode.
        onWarning: (w) => io.err(json ? `${toJson({ event: 'warning', message: w })}\n` : `WARNING: ${w}\n`),
        signal: io.signal,
        onProgress: progress.listener,
      }).finally(() => progress.close());
      const summary = {
        ok: true,
        command: 'load',
        device: result.device,
        input: values.input,
        codec: result.header.codec,
        chunking: result.header.chunking,
        streamId: Buffer.from(result.header.streamId).toString('hex'),
        source: result.header.device,
        bytes: result.bytes,
        wireBytes: result.wireBytes,
        ratio: result.ratio,
        chunks: result.trailer.chunkCount,
        sections: loadedSections(result.sections, result.bytes, result.trailer.chunkCount),
        elapsedMs: Math.round(result.elapsedMs),
        throughput: Math.round(result.throughput),
        workers: result.workers,
        budget: result.budget,
        peakInFlight: result.peakInFlight,
        verified: true,
        warnings: result.warnings,
        digest: result.digest,
        streamDigest: streamDigestHex(result.trailer.digest),
        finalState: result.finalState,
      };
      if (io.verbosity === 'verbose') io.err(await pipelineReport(result, device));
      if (json) io.out(`${toJson(summary)}\n`);
      else if (io.verbosity !== 'quiet') {
        io.out(
          `loaded ${values.input} -> ${result.device}: ${formatBytes(result.bytes)} from ${formatBytes(result.wireBytes)} ` +
            `(ratio ${result.ratio.toFixed(3)}, ${result.header.codec}, ${result.trailer.chunkCount} chunks, verified) ` +
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
