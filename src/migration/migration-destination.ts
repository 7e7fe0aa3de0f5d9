// The destination of a live migration. It listens, takes one source's control connection, and checks the source's
// devices against its own before anything changes state (refusing, with every reason, on both ends). Each device's
// stream then flows into the device as it arrives and verifies: the device goes to RESUMING at its stream header
// and takes every chunk once its checksum verified; when all of a device's initial pre-copy data is in the device,
// the source hears it (switchover acknowledgement). Once every stream is complete, every device validates its state
// (RESUMING -> STOP), the source is told ready, and only on its go do the devices start (the P2P order kept). Any
// failure before that resets every device this side touched and tells the source, which then rolls back.
import { DeviceSet, hostThreadsOf } from '../device/device-set.ts';
import type { MigrationDevice } from '../device/migration-device.ts';
import {
  ConnectionLostError,
  DataSessionMissingError,
  DeviceStalledError,
  MigrationProtocolError,
  MigrationRefusedError,
  ProtocolVersionError,
  StreamTruncatedError,
  toVfioMigrateError,
  type VfioMigrateError,
} from '../errors.ts';
import { arcSessionEffect, DeviceState, stateName } from '../fsm/index.ts';
import type { ByteSink } from '../pipeline/byte-endpoints.ts';
import { checkDeviceMatch } from '../pipeline/device-load.ts';
import { assertReadyFor } from '../pipeline/device-readiness.ts';
import { DEFAULT_DEVICE_IDLE_MS } from '../pipeline/device-save.ts';
import { sinkFromResumingSession } from '../pipeline/endpoint-adapters.ts';
import { guardSink } from '../pipeline/progress-guard.ts';
import { loadStream } from '../pipeline/stream-loader.ts';
import type { TransportSpec } from '../transport/transport-spec.ts';
import type { ControlChannel } from './control-channel.ts';
import { plainArcMs } from './convergence-policy.ts';
import { describeDevices, incompatibilities } from './handshake.ts';
import { MigrationEmitter, type MigrationPhase } from './migration-events.ts';
import { DestinationLink, type LinkOptions } from './migration-link.ts';
import { emptyPhase, type MigrationResult, StateClock } from './migration-result.ts';
import { PROTOCOL_NAME, PROTOCOL_VERSION } from './wire.ts';

export interface DestinationMigrationOptions {
  /** Codec threads in all (shared out among the device streams). */
  workers?: number | undefined;
  /**
   * Threads of this process busy with the same migration besides the pipelines' (simulated devices', of both ends in a
   * local migration): the default codec threads leave each a core. Default: this end's devices' own.
   */
  busyThreads?: number | undefined;
  /** Bytes in flight per device stream (this side's memory: a stream whose chunks do not fit is refused). */
  budget?: number | undefined;
  /** Transport: TLS, PSK, the accept deadline, the idle limit, refusals. */
  link?: LinkOptions | undefined;
  /** Longest wait on the peer or a device with nothing moving, ms (default 60 s). */
  idleMs?: number | undefined;
  /** How long to wait for a source to connect, ms (default 300 s; 0: forever). */
  acceptTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export class MigrationDestination extends MigrationEmitter {
  readonly set: DeviceSet;
  readonly listen: string | TransportSpec;
  readonly options: DestinationMigrationOptions;
  #result: Promise<MigrationResult> | null = null;
  /** performance.now() when the last device reached RUNNING (for one-process downtime). */
  startedAt: number | null = null;

  constructor(
    devices: DeviceSet | readonly MigrationDevice[],
    listen: string | TransportSpec,
    opts: DestinationMigrationOptions = {},
  ) {
    super('destination');
    this.set = devices instanceof DeviceSet ? devices : new DeviceSet(devices);
    this.listen = listen;
    this.options = opts;
  }

  start(): Promise<MigrationResult> {
    this.#result ??= this.#run();
    return this.#result;
  }

  get result(): Promise<MigrationResult> {
    return this.start();
  }

  async #run(): Promise<MigrationResult> {
    const opts = this.options;
    const devices = this.set.devices;
    const idleMs = opts.idleMs ?? DEFAULT_DEVICE_IDLE_MS;
    const t0 = performance.now();
    const clocks = devices.map((d) => new StateClock(d.state, t0));
    const arcs: { from: number; to: number; ms: number }[] = [];
    const unobserve = devices.map((d, i) =>
      d.observeArcs((arc) => {
        clocks[i]!.arc(arc);
        arcs.push(arc);
        this.emit('state', {
          device: i,
          id: d.id,
          from: stateName(arc.from),
          to: stateName(arc.to),
          at: arc.at,
          ms: arc.ms,
        });
      }),
    );
    let phase: MigrationPhase = 'handshake';
    const enter = (p: MigrationPhase) => {
      phase = p;
      this.emit('phase', { phase: p, at: performance.now() });
    };
    const touched = new Set<number>();
    let link: DestinationLink | null = null;
    let control: ControlChannel | null = null;
    let committed = false;
    let signal = opts.signal;
    const warnings: string[] = [];
    try {
      enter('handshake');
      for (const d of devices) await assertReadyFor(d, 'load', opts.signal);
      link = await DestinationLink.listen(this.listen, {
        ...opts.link,
        signal: opts.signal,
        idleTimeoutMs: idleMs,
        onListening: (address) => {
          opts.link?.onListening?.(address);
          this.emit('listening', { address });
        },
        onRefused: (peer, reason) => {
          opts.link?.onRefused?.(peer, reason);
          this.emit('refused', { peer, reason });
        },
      });
      control = await link.acceptControl(opts.acceptTimeoutMs ?? 300_000);
      signal = opts.signal ? AbortSignal.any([opts.signal, control.failure]) : control.failure;
      const hello = await control.next(['hello'], { timeoutMs: idleMs, signal, what: 'hello' });
      if (hello.protocol !== PROTOCOL_NAME) {
        throw new MigrationProtocolError(
          control.peer,
          `speaks ${JSON.stringify(hello.protocol)}, not ${PROTOCOL_NAME}`,
        );
      }
      if (hello.version !== PROTOCOL_VERSION) {
        const refusal = new ProtocolVersionError(PROTOCOL_VERSION, hello.version, 'destination');
        await control.tell({
          type: 'refused',
          code: refusal.code,
          message: refusal.message,
          version: PROTOCOL_VERSION,
        });
        throw refusal;
      }
      this.migrationId = hello.migrationId;
      const mine = await describeDevices(devices, { signal });
      const problems = incompatibilities(hello.devices, mine, hello.precopy);
      if (problems.length > 0) {
        const refusal = new MigrationRefusedError(problems, 'destination');
        await control.tell({ type: 'refused', code: refusal.code, message: problems.join('; ') });
        throw refusal;
      }
      await control.send({ type: 'welcome', version: PROTOCOL_VERSION, devices: mine });

      enter('setup');
      const sources = await link.acceptData(hello.migrationId, devices.length, idleMs);

      // ---- the streams: every byte into its device as it arrives and verifies -------------------------------
      enter(hello.precopy ? 'precopy' : 'final-transfer');
      const written = devices.map(() => 0);
      const initialEnd: (number | undefined)[] = devices.map(() => undefined);
      const acked = new Set<number>();
      const meanArcMs = () =>
        plainArcMs(arcs, (from, to) => Boolean(arcSessionEffect(from as DeviceState, to as DeviceState).opens));
      const maybeAck = (i: number) => {
        const end = initialEnd[i];
        if (end === undefined || acked.has(i) || written[i]! < end) return;
        acked.add(i);
        void control!.tell({ type: 'switchover-ack', device: i, arcMs: meanArcMs() });
      };
      let switchoverAt: number | null = null;
      let streamsDone = false;
      const listening = (async () => {
        while (!streamsDone) {
          const m = await control!.next(['initial-done', 'switchover'], { signal });
          if (m.type === 'switchover') {
            switchoverAt = performance.now();
            enter('final-transfer');
          } else if (m.device >= 0 && m.device < devices.length) {
            initialEnd[m.device] = m.rawOffset;
            maybeAck(m.device);
          }
        }
      })();
      listening.catch(() => {}); // its failures are the channel's, which end the loads below too
      const share = Math.max(1, Math.floor((opts.workers ?? 4) / devices.length));
      const loads = await Promise.all(
        devices.map((d, i) =>
          loadStream(
            sources[i]!,
            async (header) => {
              checkDeviceMatch(header, d);
              touched.add(i);
              const { opened } = await d.setState(DeviceState.RESUMING, { signal });
              const session = opened?.kind === 'resuming' ? opened : d.resumingSession;
              if (!session) throw new DataSessionMissingError(`${d.id} opened no resuming session`);
              const inner = guardSink(
                sinkFromResumingSession(session),
                { idleMs },
                (_l, bytes) => new DeviceStalledError(d.id, 'write', bytes, idleMs),
              );
              const counting: ByteSink = {
                name: inner.name,
                async write(data, o) {
                  await inner.write(data, o);
                  written[i]! += data.length;
                  maybeAck(i);
                },
                end: (o) => inner.end(o),
                abort: (r) => inner.abort(r),
              };
              return counting;
            },
            {
              workers: opts.workers === 0 ? 0 : opts.workers === undefined ? undefined : share,
              busyThreads: opts.busyThreads ?? hostThreadsOf(devices),
              budget: opts.budget,
              headerTimeoutMs: idleMs,
              signal,
              onWarning: (message) => {
                warnings.push(`device ${i}: ${message}`);
                this.emit('warning', { message: `device ${i}: ${message}` });
              },
            },
          ),
        ),
      );
      streamsDone = true;

      // ---- finish: every device validates what it got, then waits for the source's go ---------------------
      enter('destination-finish');
      const finishStart = performance.now();
      await Promise.all(devices.map((d) => d.setState(DeviceState.STOP, { signal })));
      const digests = await Promise.all(devices.map(async (d) => (await d.stateDigest({ signal })) ?? null));
      const finishMs = performance.now() - finishStart;
      await control.send({ type: 'ready', finishMs, states: this.set.states, digests });
      await control.next(['go'], { timeoutMs: idleMs, signal, what: 'go' });
      committed = true;
      enter('destination-start');
      const startStart = performance.now();
      await this.set.setState(DeviceState.RUNNING, { signal: opts.signal });
      this.startedAt = performance.now();
      const startMs = this.startedAt - startStart;
      try {
        await control.send({ type: 'started', startMs, states: this.set.states });
      } catch (err) {
        // the devices run here now: this side owns them; the source, never told, keeps its own stopped
        warnings.push(`the source was not told that the devices started (${(err as Error).message})`);
      }
      enter('cleanup');
      await control.close();
      await link.close();
      const end = performance.now();
      const precopy = emptyPhase();
      const stopCopy = emptyPhase();
      const bytes = loads.reduce((a, l) => a + l.bytes, 0);
      const wireBytes = loads.reduce((a, l) => a + l.wireBytes, 0);
      const stopStart = (l: (typeof loads)[number]) => l.sections.find((s) => s.kind === 'stop-copy')?.rawOffset ?? 0;
      precopy.bytes = loads.reduce((a, l) => a + stopStart(l), 0);
      stopCopy.bytes = bytes - precopy.bytes;
      const result: MigrationResult = {
        ok: true,
        side: 'destination',
        migrationId: hello.migrationId,
        downtimeMs: null,
        downtimeUpperBound: false,
        predictedDowntimeMs: null,
        predictionErrorMs: null,
        breakdown: null,
        convergence: {
          precopy: hello.precopy,
          converged: true,
          reason: hello.precopy ? 'downtime-target' : 'no-precopy',
          rounds: Math.max(0, ...loads.map((l) => l.sections.filter((s) => s.kind === 'pre-copy').length)),
          targetMs: 0,
        },
        phases: { precopy, stopCopy },
        rounds: [],
        totalMs: end - t0,
        bytes,
        wireBytes,
        ratio: bytes > 0 ? wireBytes / bytes : 0,
        throughput: (bytes * 1000) / Math.max(1, end - t0),
        devices: devices.map((d, i) => ({
          index: i,
          id: d.id,
          bytes: loads[i]!.bytes,
          wireBytes: loads[i]!.wireBytes,
          precopyBytes: stopStart(loads[i]!),
          stopCopyBytes: loads[i]!.bytes - stopStart(loads[i]!),
          finalState: stateName(d.state),
          digest: digests[i] ?? null,
          timeInState: clocks[i]!.snapshot(end),
        })),
        peerDigests: [],
        warnings,
      };
      if (switchoverAt !== null) {
        // what this side saw of the downtime: from the source's switchover message to its devices running
        result.breakdown = {
          quiesceMs: 0,
          hookMs: 0,
          stopMs: 0,
          finalTransferMs: finishStart - switchoverAt,
          destinationFinishMs: finishMs,
          destinationStartMs: startMs,
          ackMs: 0,
        };
      }
      this.published('done', { bytes });
      return result;
    } catch (err) {
      throw await this.#fail(err, { phase, control, link, touched, committed });
    } finally {
      for (const u of unobserve) u();
    }
  }

  async #fail(
    err: unknown,
    s: {
      phase: MigrationPhase;
      control: ControlChannel | null;
      link: DestinationLink | null;
      touched: Set<number>;
      committed: boolean;
    },
  ): Promise<VfioMigrateError> {
    // A stream cut by the source's own failure may end here before the source's word on the control connection
    // does: give that word a moment, so the cause is reported rather than its symptom.
    const symptom = err instanceof StreamTruncatedError || err instanceof ConnectionLostError;
    if (symptom && s.control && !s.control.failure.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        s.control!.failure.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
    const peerReason = s.control?.failure.aborted ? (s.control.failure.reason as Error) : null;
    const error =
      peerReason && !this.options.signal?.aborted ? toVfioMigrateError(peerReason) : toVfioMigrateError(err);
    const peerFailed = s.control?.peerFailure ?? null;
    this.emit('phase', { phase: 'rollback', at: performance.now() });
    // Every device this side touched is reset: a partial or unvalidated state must never run. A device that
    // stayed RUNNING (refused before it was touched) is left alone.
    for (const [i, d] of this.set.devices.entries()) {
      await d.refreshState().catch(() => {});
      if (s.touched.has(i) || d.state !== DeviceState.RUNNING) await d.reset().catch(() => {});
    }
    if (!peerFailed && !(error instanceof MigrationRefusedError) && !(error instanceof ProtocolVersionError)) {
      await s.control?.tell({
        type: 'failed',
        code: error.code,
        message: error.message,
        phase: s.phase,
        states: this.set.states,
      });
    }
    await s.control?.close().catch(() => {});
    await s.link?.close().catch(() => {});
    error.migration = {
      phase: s.phase,
      side: peerFailed ? 'source' : peerReason ? 'link' : 'destination',
      destinationStates: this.set.states,
      sourceStates: peerFailed?.states,
    };
    this.published('error', { code: error.code, phase: s.phase });
    return error;
  }
}
