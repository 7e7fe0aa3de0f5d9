// The source of a live migration. After the handshake (nothing changes state before the destination accepted),
// the devices that can pre-copy enter PRE_COPY and their data streams out in rounds while they run; each device's
// data is its own stream (FORMAT.md) on its own connection, so the devices move in parallel. When the convergence
// policy predicts a downtime within the target and every destination device acknowledged its initial data, the set
// is quiesced (P2P devices first), stopped, and the STOP_COPY data follows. The destination validates, says it is
// ready, the source says go (from then on it never restarts its devices), and the destination starts its devices
// and says so. Any failure before go returns every source device to RUNNING and tells the destination to reset.
import { randomBytes } from 'node:crypto';
import { DeviceSet, hostThreadsOf } from '../device/device-set.ts';
import type { MigrationDevice } from '../device/migration-device.ts';
import {
  AbortedError,
  ConnectionLostError,
  DataSessionMissingError,
  MigrationInDoubtError,
  MigrationRefusedError,
  NotConvergedError,
  PeerStalledError,
  ProtocolVersionError,
  throwIfAborted,
  toVfioMigrateError,
  type VfioMigrateError,
} from '../errors.ts';
import { arcSessionEffect, DeviceState, MigrationFlag, stateName } from '../fsm/index.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import { autoWorkerCount } from '../pipeline/codec-pool.ts';
import {
  confirmDataEnd,
  DEFAULT_DEVICE_IDLE_MS,
  deviceMetadata,
  deviceSource,
  recoverToRunning,
} from '../pipeline/device-save.ts';
import { type SaveOptions, StreamSaver } from '../pipeline/stream-saver.ts';
import { strategyOf, withPlanDefaults } from '../planner/plan-defaults.ts';
import { type DevicesPlan, predictWithPlan } from '../planner/transfer-model.ts';
import { fixedChunking } from '../stream/index.ts';
import type { TransportSpec } from '../transport/transport-spec.ts';
import {
  ConvergencePolicy,
  type ConvergenceReason,
  type ConvergenceSettings,
  type DowntimePrediction,
  type FixedCosts,
  plainArcMs,
  predictDowntime,
  ThroughputMeter,
} from './convergence-policy.ts';
import { describeDevices } from './handshake.ts';
import { MigrationEmitter, type MigrationPhase } from './migration-events.ts';
import { type LinkOptions, SourceLink } from './migration-link.ts';
import {
  type DowntimeBreakdown,
  emptyPhase,
  type MigrationResult,
  type RoundReport,
  StateClock,
} from './migration-result.ts';
import { hexId, PROTOCOL_NAME, PROTOCOL_VERSION } from './wire.ts';

export interface MigrationStreamOptions {
  codec?: SaveOptions['codec'];
  level?: number | undefined;
  chunking?: SaveOptions['chunking'];
  chunkSize?: number | undefined;
  /** Codec threads in all (shared out among the devices); default as for save. */
  workers?: number | undefined;
  /**
   * Threads of this process busy with the same migration besides the pipelines' (simulated devices', of both ends in a
   * local migration): the default codec threads leave each a core. Default: this end's devices' own.
   */
  busyThreads?: number | undefined;
  /** Bytes in flight per device stream. */
  budget?: number | undefined;
}

export interface SourceMigrationOptions extends MigrationStreamOptions, Partial<ConvergenceSettings> {
  /** Pre-copy while the devices run, where they support it (default true). */
  precopy?: boolean | undefined;
  /**
   * A plan of these devices (planDevices): the stream settings left unset take its recommendation, and a
   * stop-and-copy migration predicts its downtime with the plan's throughput model (its measured rates for the
   * strategy in use, the link's rate, this migration's fixed costs) and its measured arcs until this one has its own.
   */
  plan?: DevicesPlan | undefined;
  /** `manual`: once converged, keep pre-copying until `switchover()` is called (default `auto`). */
  switchover?: 'auto' | 'manual' | undefined;
  /**
   * Awaited once every P2P device is quiesced and before any device stops: a VMM pauses its vCPUs here. Its time
   * counts in the downtime (`breakdown.hookMs`). Throwing aborts the migration (the devices go back to RUNNING).
   */
  beforeStop?: ((info: { states: string[] }) => void | Promise<void>) | undefined;
  /** Transport: TLS, PSK, connect deadline, the link's rate limit, the idle and rate limits. */
  link?: LinkOptions | undefined;
  /** Longest wait on the peer or a device with nothing moving, ms (default 60 s). */
  idleMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

const toNumber = (n: bigint) => (n >= 0n && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : Number.MAX_SAFE_INTEGER);
/** A round of a device that announced nothing pending still reads what there is, up to this. */
const MIN_ROUND_BYTES = 1 << 20;

/** `source` ending after `limit` bytes. */
function atMost(source: ByteSource, limit: number): ByteSource {
  let left = limit;
  return {
    name: source.name,
    async read(into, opts) {
      if (left <= 0) return 0;
      const n = await source.read(left < into.length ? into.subarray(0, left) : into, opts);
      left -= n;
      return n;
    },
    close: () => source.close(),
  };
}

const opensSession = (from: number, to: number) =>
  arcSessionEffect(from as DeviceState, to as DeviceState).opens !== null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `err` is an abort, or wraps one: a device arc interrupted by the migration's abort fails as ArcFailedError (or a
 * set transition error) whose cause is the AbortedError.
 */
function causedByAbort(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause) {
    if (e instanceof AbortedError) return true;
  }
  return false;
}
/** Arc phases from `state` to STOP_COPY in a set (a P2P quiesce phase, then the stop). */
function stopPhases(devices: readonly MigrationDevice[]): number {
  const p2p = devices.some((d) => (d.flags & MigrationFlag.P2P) !== 0);
  const noP2P = devices.some((d) => (d.flags & MigrationFlag.P2P) === 0);
  return (p2p ? 2 : 0) + (noP2P ? 1 : 0);
}

export class MigrationSource extends MigrationEmitter {
  readonly set: DeviceSet;
  readonly to: string | TransportSpec | Promise<string | TransportSpec>;
  readonly options: SourceMigrationOptions;
  /** performance.now() when the first device left RUNNING for the switchover (the downtime's start). */
  downtimeStartedAt: number | null = null;
  #result: Promise<MigrationResult> | null = null;
  #switchoverAsked = false;
  #wakeSwitchover: (() => void) | null = null;

  /** `to`: the destination's listener (a promise of it while it is still being bound, in one process). */
  constructor(
    devices: DeviceSet | readonly MigrationDevice[],
    to: string | TransportSpec | Promise<string | TransportSpec>,
    opts: SourceMigrationOptions = {},
  ) {
    super('source');
    this.set = devices instanceof DeviceSet ? devices : new DeviceSet(devices);
    this.to = to;
    this.options = withPlanDefaults(opts, opts.plan);
  }

  /** Runs the migration (once); resolves with its result, rejects with a VfioMigrateError carrying `migration`. */
  start(): Promise<MigrationResult> {
    this.#result ??= this.#run();
    return this.#result;
  }

  get result(): Promise<MigrationResult> {
    return this.start();
  }

  /** Manual switchover: go as soon as every device acknowledged its initial data. */
  switchover(): void {
    this.#switchoverAsked = true;
    this.#wakeSwitchover?.();
  }

  async #run(): Promise<MigrationResult> {
    const opts = this.options;
    const devices = this.set.devices;
    const idleMs = opts.idleMs ?? DEFAULT_DEVICE_IDLE_MS;
    const policy = new ConvergencePolicy(opts);
    const migrationId = randomBytes(16);
    this.migrationId = hexId(migrationId);
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
    let link: SourceLink | null = null;
    const savers: (StreamSaver | null)[] = devices.map(() => null);
    let touched = false;
    let committed = false;
    let signal: AbortSignal | undefined = opts.signal;
    const warnings: string[] = [];
    try {
      enter('handshake');
      throwIfAborted(signal);
      link = await SourceLink.connect(await this.to, { ...opts.link, signal: opts.signal, idleTimeoutMs: idleMs });
      const control = link.control;
      // from here a peer that fails or goes away stops whatever this side is doing
      signal = opts.signal ? AbortSignal.any([opts.signal, control.failure]) : control.failure;
      const usePrecopy = opts.precopy !== false && devices.some((d) => (d.flags & MigrationFlag.PRE_COPY) !== 0);
      const descriptions = await describeDevices(devices, { signal });
      const chunking = opts.chunking ?? 'fixed';
      await control.send({
        type: 'hello',
        protocol: PROTOCOL_NAME,
        version: PROTOCOL_VERSION,
        migrationId: this.migrationId,
        devices: descriptions,
        stream: { codec: opts.codec ?? 'lz4', level: opts.level, chunking, chunkSize: opts.chunkSize },
        precopy: usePrecopy,
      });
      const answer = await control.next(['welcome', 'refused'], {
        timeoutMs: idleMs,
        signal,
        what: 'handshake answer',
      });
      if (answer.type === 'refused') {
        if (answer.code === 'VFM_PROTOCOL_VERSION') {
          throw new ProtocolVersionError(PROTOCOL_VERSION, answer.version ?? -1, 'source');
        }
        throw new MigrationRefusedError(answer.message.split('; '), 'source');
      }
      if (answer.version !== PROTOCOL_VERSION)
        throw new ProtocolVersionError(PROTOCOL_VERSION, answer.version, 'source');

      enter('setup');
      const chunkBytes = fixedChunking(opts.chunkSize).max;
      const busy = opts.busyThreads ?? hostThreadsOf(devices);
      const total = opts.workers ?? autoWorkerCount(null, chunkBytes, opts.codec ?? 'lz4', busy);
      const share = total === 0 ? 0 : Math.max(1, Math.floor(total / devices.length));
      const sinks: ByteSink[] = await Promise.all(devices.map((_, i) => link!.openData(migrationId, i)));
      for (const [i, d] of devices.entries()) {
        const size = descriptions[i]!.stopCopySize;
        savers[i] = await StreamSaver.open(sinks[i]!, {
          codec: opts.codec,
          level: opts.level,
          chunking,
          chunkSize: opts.chunkSize,
          // small devices (a few hundred bytes of state) are not worth a thread
          workers: size !== null && size <= 2 * chunkBytes ? 0 : share,
          budget: opts.budget,
          device: deviceMetadata(d),
          migrationFlags: d.flags,
          signal,
        });
      }

      const rounds: RoundReport[] = [];
      const precopy = emptyPhase();
      const meter = new ThroughputMeter();
      const acked = new Set<number>();
      const initialReported = new Set<number>();
      const precopyDevices = usePrecopy
        ? devices.flatMap((d, i) => ((d.flags & MigrationFlag.PRE_COPY) !== 0 ? [i] : []))
        : [];
      let destinationArcMs: number | undefined;
      let rttMs = 0;
      let decisionReason: ConvergenceReason = usePrecopy ? 'max-rounds' : 'no-precopy';
      let converged = !usePrecopy;
      let prediction: DowntimePrediction | null = null;
      const costs = (): FixedCosts => ({
        // until this side has taken a plain arc, the destination's (it reports them) stand for both
        sourceArcMs: plainArcMs(arcs, opensSession) ?? destinationArcMs ?? opts.plan?.fixedCosts.sourceArcMs ?? 1,
        sourceStopPhases: stopPhases(devices),
        destinationArcMs:
          destinationArcMs ?? plainArcMs(arcs, opensSession) ?? opts.plan?.fixedCosts.destinationArcMs ?? 1,
        destinationPhases: 3,
        rttMs,
      });
      const takeAcks = () => {
        for (const m of control.drain('switchover-ack')) {
          acked.add(m.device);
          if (m.arcMs !== undefined) destinationArcMs = m.arcMs;
          this.emit('switchover-ack', { device: m.device });
        }
      };

      if (usePrecopy) {
        enter('precopy');
        touched = true;
        await Promise.all(precopyDevices.map((i) => devices[i]!.setState(DeviceState.PRE_COPY, { signal })));
        rttMs = await control.ping(idleMs, signal);
        const start = performance.now();
        let readyAnnounced = false;
        for (let round = 1; ; round++) {
          throwIfAborted(signal);
          const roundStart = performance.now();
          const infos = await Promise.all(precopyDevices.map((i) => devices[i]!.precopyInfo({ signal })));
          const announcedBytes = infos.reduce((a, info) => a + toNumber(info.initialBytes + info.dirtyBytes), 0);
          const sections = await Promise.all(
            precopyDevices.map((i, k) => {
              const d = devices[i]!;
              const session = d.savingSession;
              if (!session) throw new DataSessionMissingError(`${d.id} has no saving session in PRE_COPY`);
              const info = infos[k]!;
              const announced = toNumber(info.initialBytes + info.dirtyBytes);
              // A round sends what was pending when it began: a device dirtying faster than the link never drains,
              // and a round that waited for that would never end. What it dirties meanwhile goes next round.
              const limit = Math.max(announced, MIN_ROUND_BYTES);
              return savers[i]!.section('pre-copy', atMost(deviceSource(d, session, idleMs).guarded, limit), {
                expectedBytes: announced,
              });
            }),
          );
          const roundEnd = performance.now();
          const bytes = sections.reduce((a, s) => a + s.bytes, 0);
          const wireBytes = sections.reduce((a, s) => a + s.wireBytes, 0);
          meter.add(bytes, roundEnd - roundStart);
          precopy.bytes += bytes;
          precopy.wireBytes += wireBytes;
          precopy.chunks += sections.reduce((a, s) => a + s.chunks, 0);
          // a device whose initial data is all read tells the destination where it ends, to be acknowledged
          const after = await Promise.all(precopyDevices.map((i) => devices[i]!.precopyInfo({ signal })));
          let remaining = 0;
          for (const [k, i] of precopyDevices.entries()) {
            const info = after[k]!;
            if (info.initialBytes === 0n && !initialReported.has(i)) {
              initialReported.add(i);
              await control.send({ type: 'initial-done', device: i, rawOffset: savers[i]!.bytes });
            }
            const estimate = toNumber(await devices[i]!.stopCopySize({ signal }));
            remaining += Math.max(estimate, toNumber(info.initialBytes + info.dirtyBytes));
          }
          for (const [i, desc] of descriptions.entries()) {
            if (!precopyDevices.includes(i)) remaining += desc.stopCopySize ?? 0;
          }
          // What the devices dirtied while the round ran: pending now, less what was pending at its start and not
          // read, plus what it read beyond that (a round reads at least MIN_ROUND_BYTES).
          const pendingNow = after.reduce((a, info) => a + toNumber(info.initialBytes + info.dirtyBytes), 0);
          const dirtyBytes = Math.max(0, pendingNow - announcedBytes + bytes);
          const dirtyRate = (dirtyBytes * 1000) / Math.max(1, roundEnd - roundStart);
          // the first ping may have waited behind the pipeline starting up: the least seen is the link's own
          rttMs = Math.min(rttMs, await control.ping(idleMs, signal));
          takeAcks();
          prediction = predictDowntime(remaining, { ...meter.fit(), spread: meter.spread }, costs());
          const decision = policy.evaluate(round, roundEnd - start, prediction);
          rounds.push({
            round,
            bytes,
            wireBytes,
            ms: roundEnd - roundStart,
            dirtyBytes,
            remainingBytes: remaining,
            throughput: meter.rate,
            predictedDowntimeMs: prediction.downtimeMs,
          });
          this.emit('round', {
            round,
            bytes,
            wireBytes,
            ms: roundEnd - roundStart,
            dirtyBytes,
            dirtyRate,
            remainingBytes: remaining,
            throughput: meter.rate,
            prediction,
          });
          this.emit('progress', {
            phase: 'precopy',
            round,
            bytes: precopy.bytes,
            wireBytes: precopy.wireBytes,
            rate: (bytes * 1000) / Math.max(1, roundEnd - roundStart),
            dirtyRate,
            predictedDowntimeMs: prediction.downtimeMs,
          });
          if (decision.action === 'abort') {
            throw new NotConvergedError({
              rounds: round,
              predictedDowntimeMs: prediction.downtimeMs,
              targetMs: policy.settings.downtimeMs,
              why: decision.reason === 'max-time' ? 'out of time' : 'out of rounds',
            });
          }
          if (decision.action === 'switchover') {
            // The destination's preparation must never fall inside the downtime: every device acknowledges first.
            const missing = precopyDevices.filter((i) => !acked.has(i));
            if (missing.length > 0) {
              const m = await control.next(['switchover-ack'], {
                timeoutMs: idleMs,
                signal,
                what: `switchover acknowledgement of device ${missing.join(', ')}`,
              });
              acked.add(m.device);
              if (m.arcMs !== undefined) destinationArcMs = m.arcMs;
              this.emit('switchover-ack', { device: m.device });
              continue;
            }
            if (!readyAnnounced) {
              readyAnnounced = true;
              this.emit('switchover-ready', {
                reason: decision.reason!,
                converged: decision.converged,
                prediction,
              });
            }
            if (opts.switchover === 'manual' && !this.#switchoverAsked) {
              if (roundEnd - start >= policy.settings.maxTimeMs) {
                throw new PeerStalledError('the caller', 0, 'idle', 'switchover() was not called within --max-time');
              }
              await new Promise<void>((resolve) => {
                this.#wakeSwitchover = resolve;
                setTimeout(resolve, 100);
              });
              continue;
            }
            decisionReason = opts.switchover === 'manual' ? 'manual' : decision.reason!;
            converged = decision.converged;
            break;
          }
          // nothing to send: let the running devices dirty something rather than spin
          if (bytes < 64 << 10) await sleep(20);
        }
        precopy.ms = performance.now() - start;
      } else {
        rttMs = await control.ping(idleMs, signal);
        const remaining = descriptions.reduce((a, d) => a + (d.stopCopySize ?? 0), 0);
        const linkRate = opts.link?.limiter?.rate;
        // the plan's model where it measured the strategy in use: the link, the codec and the device together
        const planned = opts.plan
          ? predictWithPlan(opts.plan, strategyOf(opts), {
              stopCopyBytes: descriptions.map((d) => d.stopCopySize ?? 0),
              linkRate: linkRate ?? opts.plan.linkRate,
              costs: costs(),
            })
          : null;
        prediction = planned
          ? planned.prediction
          : linkRate
            ? predictDowntime(remaining, { rate: linkRate }, costs())
            : null;
        this.emit('switchover-ready', { reason: 'no-precopy', converged: true, prediction });
      }

      // ---- switchover: the downtime starts as the first device leaves RUNNING -------------------------------
      enter('switchover');
      await control.send({ type: 'switchover', at: Date.now() });
      touched = true;
      const downtimeStart = performance.now();
      this.downtimeStartedAt = downtimeStart;
      let quiescedAt = downtimeStart;
      let hookMs = 0;
      let stopping = false;
      enter('quiesce');
      const stopped = await this.set.setState(DeviceState.STOP_COPY, {
        signal,
        beforePhase: async (p) => {
          if (p === 'p2p' || stopping) return;
          stopping = true;
          quiescedAt = performance.now();
          const states = this.set.states;
          this.emit('quiesced', { states });
          if (opts.beforeStop) {
            await opts.beforeStop({ states });
            hookMs = performance.now() - quiescedAt;
          }
          enter('stop');
        },
      });
      const stopCopyAt = performance.now();
      enter('final-transfer');
      const stopCopy = emptyPhase();
      const finalSections = await Promise.all(
        devices.map(async (d, i) => {
          const session = stopped.results[i]?.opened ?? d.savingSession;
          if (session?.kind !== 'saving') {
            throw new DataSessionMissingError(`${d.id} has no saving session in STOP_COPY`);
          }
          const size = toNumber(await d.stopCopySize({ signal }));
          const exact = d.exactSizes;
          const { source, guarded } = deviceSource(d, session, idleMs);
          const section = await savers[i]!.section('stop-copy', guarded, { expectedBytes: size, exact });
          await confirmDataEnd(d, source, section.bytes, exact ? size : undefined, signal);
          await savers[i]!.finish({ keepWorkers: true });
          return section;
        }),
      );
      for (const s of finalSections) {
        stopCopy.bytes += s.bytes;
        stopCopy.wireBytes += s.wireBytes;
        stopCopy.chunks += s.chunks;
      }
      const transferredAt = performance.now();
      stopCopy.ms = transferredAt - stopCopyAt;

      enter('destination-finish');
      const ready = await control.next(['ready'], { timeoutMs: idleMs, signal, what: 'destination ready' });
      // ---- the commit: from here on the source never restarts its devices ---------------------------------
      committed = true;
      await control.send({ type: 'go' });
      enter('final-ack');
      const started = await control.next(['started'], { timeoutMs: idleMs, signal: opts.signal, what: 'final ack' });
      const downtimeEnd = performance.now();
      const downtimeMs = downtimeEnd - downtimeStart;

      enter('cleanup');
      await Promise.all(savers.map((sv) => sv!.release()));
      const digests = await Promise.all(devices.map((d) => d.stateDigest().catch(() => undefined)));
      await this.set.setState(DeviceState.STOP).catch((err: Error) => {
        warnings.push(`the source devices stayed in STOP_COPY: ${err.message}`);
      });
      link.destroy();
      await control.close();
      const breakdownRest =
        quiescedAt -
        downtimeStart +
        hookMs +
        (stopCopyAt - quiescedAt - hookMs) +
        (transferredAt - stopCopyAt) +
        ready.finishMs +
        started.startMs;
      const breakdown: DowntimeBreakdown = {
        quiesceMs: quiescedAt - downtimeStart,
        hookMs,
        stopMs: stopCopyAt - quiescedAt - hookMs,
        finalTransferMs: transferredAt - stopCopyAt,
        destinationFinishMs: ready.finishMs,
        destinationStartMs: started.startMs,
        ackMs: Math.max(0, downtimeMs - breakdownRest),
      };
      const end = performance.now();
      const bytes = precopy.bytes + stopCopy.bytes;
      const wireBytes = precopy.wireBytes + stopCopy.wireBytes;
      const result: MigrationResult = {
        ok: true,
        side: 'source',
        migrationId: this.migrationId,
        downtimeMs,
        downtimeUpperBound: true,
        predictedDowntimeMs: prediction?.downtimeMs ?? null,
        predictionErrorMs: prediction?.errorMs ?? null,
        breakdown,
        convergence: {
          precopy: usePrecopy,
          converged,
          reason: decisionReason,
          rounds: rounds.length,
          targetMs: policy.settings.downtimeMs,
        },
        phases: { precopy, stopCopy },
        rounds,
        totalMs: end - t0,
        bytes,
        wireBytes,
        ratio: bytes > 0 ? wireBytes / bytes : 0,
        throughput: (bytes * 1000) / Math.max(1, end - t0),
        devices: devices.map((d, i) => ({
          index: i,
          id: d.id,
          bytes: savers[i]!.bytes,
          wireBytes: 0,
          precopyBytes: savers[i]!.bytes - finalSections[i]!.bytes,
          stopCopyBytes: finalSections[i]!.bytes,
          finalState: stateName(d.state),
          digest: digests[i] ?? null,
          timeInState: clocks[i]!.snapshot(end),
        })),
        peerDigests: ready.digests,
        warnings,
      };
      this.published('done', { downtimeMs, predictedDowntimeMs: result.predictedDowntimeMs });
      return result;
    } catch (err) {
      throw await this.#fail(err, { phase, link, savers, touched, committed, signal });
    } finally {
      for (const u of unobserve) u();
    }
  }

  /** Turns a failure into the error to throw, after rolling back what may be rolled back. */
  async #fail(
    err: unknown,
    s: {
      phase: MigrationPhase;
      link: SourceLink | null;
      savers: (StreamSaver | null)[];
      touched: boolean;
      committed: boolean;
      signal: AbortSignal | undefined;
    },
  ): Promise<VfioMigrateError> {
    const control = s.link?.control;
    // A data connection cut by the destination's own failure may end here before the destination's word on the
    // control connection does: give that word a moment, so the cause is reported rather than its symptom.
    const symptom = err instanceof ConnectionLostError;
    if (symptom && control && !control.failure.aborted) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        control.failure.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
    const peerFailed = control?.peerFailure ?? null;
    // an abort caused by the peer's failure (or its going away) reports that failure, not the abort; a cut data
    // connection reports the failure the peer gave for it
    const peerReason = control?.failure.aborted ? (control.failure.reason as Error) : null;
    const error =
      ((causedByAbort(err) && peerReason) || (symptom && peerFailed)) && !this.options.signal?.aborted
        ? toVfioMigrateError(peerReason)
        : toVfioMigrateError(err);
    const side = peerFailed ? 'destination' : peerReason && !peerFailed ? 'link' : 'source';
    this.emit('phase', { phase: 'rollback', at: performance.now() });
    if (s.committed && !peerFailed) {
      await Promise.all(s.savers.map((sv) => sv?.abort(error)));
      // Told the destination to go and never heard it started: it may run the devices now. Two running copies
      // would be worse than a stopped source, so the source stays stopped and says so.
      await this.set.setState(DeviceState.STOP).catch(() => {});
      s.link?.destroy();
      const doubt = new MigrationInDoubtError(
        `the destination was told to start its devices but did not confirm it did (${error.message}); ` +
          'the source devices stay stopped: check the destination, and run `vfio-migrate recover` on the source ' +
          'only if the destination does not run them',
        { cause: error },
      );
      doubt.migration = { phase: s.phase, side: 'link', sourceStates: this.set.states };
      this.published('error', { code: doubt.code, phase: s.phase });
      return doubt;
    }
    // Say why before the data connections go, so the destination hears the cause, not only a cut stream.
    if (!peerFailed) {
      await control?.tell({
        type: 'failed',
        code: error.code,
        message: error.message,
        phase: s.phase,
        states: this.set.states,
      });
    }
    await Promise.all(s.savers.map((sv) => sv?.abort(error)));
    if (s.touched) await this.#rollback(error);
    s.link?.destroy();
    error.migration = {
      phase: s.phase,
      side,
      sourceStates: this.set.states,
      destinationStates: peerFailed?.states,
    };
    this.published('error', { code: error.code, phase: s.phase });
    return error;
  }

  /** Every device back to RUNNING, the P2P order kept; one that cannot be stepped is reset. */
  async #rollback(cause: Error): Promise<void> {
    const ok = await this.set.setState(DeviceState.RUNNING).then(
      () => true,
      () => false,
    );
    if (ok) return;
    for (const d of this.set.devices) {
      await d.refreshState().catch(() => {});
      if (d.state !== DeviceState.RUNNING) await recoverToRunning(d, cause).catch(() => {});
    }
  }
}
