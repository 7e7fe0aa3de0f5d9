// A simulated device as a DeviceBackend. The device runs in a worker thread (sim-worker.ts); this side sends it
// control requests and connects a UNIX socket for each data session it opens.
import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import {
  AbortedError,
  DataSessionMissingError,
  DeviceGoneError,
  InjectedFaultError,
  type SimRejectReason,
  SimStreamRejectedError,
  throwIfAborted,
} from '../../errors.ts';
import { arcSessionEffect, DeviceState, flagNames, isPreCopyState } from '../../fsm/index.ts';
import { RingSocket } from '../../transport/ring-socket.ts';
import type { DataSession, DeviceBackend, OperationOptions, PrecopyInfo, SavingSession } from '../types.ts';
import { proveToDevice, type SessionKeys } from './data-session-handshake.ts';
import {
  allocateSocketAddress,
  type DataSocketAddress,
  defaultSocketPlace,
  releaseSocketAddress,
  type SocketPlace,
} from './data-socket-place.ts';
import { fullStreamSize } from './device-stream-format.ts';
import { PAGE_KIND_NAMES } from './profiles.ts';
import type {
  SerializedError,
  SimEvent,
  SimReply,
  SimRequest,
  SimSessionOpened,
  SimStats,
  SimWorkerData,
} from './sim-protocol.ts';
import { type SessionLink, SimResumingSession, SimSavingSession, SOCKET_READ_BUFFER } from './sim-sessions.ts';
import { formatSimSpec, formatSize, type SimConfig } from './sim-spec.ts';
import { startSimThread } from './sim-thread.ts';

function rebuildError(e: SerializedError): Error {
  const f = e.fields;
  switch (e.code) {
    case 'VFM_SIM_INJECTED_FAULT':
      return new InjectedFaultError(String(f.fault), e.message);
    case 'VFM_DEVICE_REJECTED_STREAM':
      return new SimStreamRejectedError(f.reason as SimRejectReason, e.message, {
        device: String(f.device),
        offset: Number(f.offset),
        acceptedBytes: Number(f.acceptedBytes),
      });
    default: {
      const err = new Error(`simulated device: ${e.message}`);
      err.name = e.name;
      return err;
    }
  }
}

export interface SimOpenOptions extends OperationOptions {
  /** Where the data socket listens; by default the first place that works here (see data-socket-place.ts). */
  socketPlace?: SocketPlace;
}

export class SimBackend implements DeviceBackend {
  readonly kind = 'sim' as const;
  /** The simulated device counts what it will send: its STOP_COPY size is exact. */
  readonly exactSizes = true;
  /** The device is a thread of this process, busy producing or checking its data while it moves. */
  readonly hostThreads = 1;
  readonly id: string;
  readonly config: SimConfig;
  readonly #place: SocketPlace;
  #address: DataSocketAddress | null = null;
  #worker: Worker | null = null;
  #gone: string | null = null;
  #closed = false;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  /** The state as of the last arc or query (sessions ask it whether the device is pre-copying). */
  #state: DeviceState = DeviceState.RUNNING;
  #saving: SimSavingSession | null = null;
  /**
   * Session news that came before its session was connected. The device starts writing, and may report itself idle,
   * as soon as it has admitted the host, and its port message can overtake the socket bytes that finish the
   * handshake: dropped, an idle report left a pre-copy read waiting for data that never came.
   */
  #early: (SimEvent & { session: number })[] = [];
  #resuming: SimResumingSession | null = null;
  readonly #link: SessionLink;
  #shortReadState = 0;

  private constructor(config: SimConfig, place: SocketPlace) {
    this.config = config;
    this.id = formatSimSpec(config);
    this.#place = place;
    this.#link = {
      deviceId: this.id,
      inPreCopy: () => isPreCopyState(this.#state),
      gone: () => this.#gone,
      readCap: () => (config.faults.shortReads ? this.#nextShortRead() : Number.POSITIVE_INFINITY),
    };
  }

  // Deterministic read caps (1..509 bytes) from the device's seed, like a driver that hands out small records.
  #nextShortRead(): number {
    let x = (this.#shortReadState ||= this.config.seed >>> 0 || 1);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#shortReadState = x >>> 0;
    return 1 + (this.#shortReadState % 509);
  }

  /** Starts the device's thread; resolves once it is ready for requests. */
  static async open(config: SimConfig, opts?: SimOpenOptions): Promise<SimBackend> {
    throwIfAborted(opts?.signal);
    const backend = new SimBackend(config, opts?.socketPlace ?? (await defaultSocketPlace()));
    try {
      await backend.#start(opts?.signal);
    } catch (err) {
      await backend.close();
      throw err;
    }
    return backend;
  }

  async #start(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    // A file socket keeps its private directory across restarts (the dead thread's file goes); an abstract name is
    // new each time, so a restarted device never races its predecessor's name.
    if (this.#address?.dir) rmSync(this.#address.path, { force: true });
    else this.#address = allocateSocketAddress(this.#place);
    const data: SimWorkerData = { config: this.config, socketPath: this.#address.path };
    const worker = startSimThread(data);
    this.#worker = worker;
    this.#gone = null;
    this.#state = DeviceState.RUNNING;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () =>
        reject(new AbortedError('opening the simulated device was aborted', { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (m: SimReply | SimEvent) => {
        if ('ev' in m && m.ev === 'ready') {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        } else this.#onMessage(worker, m);
      });
      worker.on('error', (err) => {
        this.#lost(worker, `its thread crashed: ${err.message}`);
        reject(new DeviceGoneError(this.id, `its thread crashed: ${err.message}`, { cause: err }));
      });
      worker.on('exit', (code) => {
        this.#lost(worker, `its thread exited with code ${code}`);
        reject(new DeviceGoneError(this.id, this.#gone ?? `its thread exited with code ${code}`));
      });
    });
  }

  #onMessage(worker: Worker, m: SimReply | SimEvent): void {
    if (worker !== this.#worker) return;
    if ('id' in m) {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(rebuildError(m.error));
      return;
    }
    if (m.ev === 'dying') this.#gone ??= m.detail;
    else if (m.ev !== 'ready') {
      if (this.#saving && m.session === this.#saving.id) this.#saving.event(m);
      else this.#early = [...this.#early.slice(-15), m];
    }
  }

  #lost(worker: Worker, detail: string): void {
    if (worker !== this.#worker || this.#closed) return;
    this.#gone ??= detail;
    const err = new DeviceGoneError(this.id, this.#gone);
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    // a write the dead device will never take must fail now, not when a timer gives up on it
    this.#resuming?.deviceGone(err);
  }

  #call<T>(req: SimRequest, signal?: AbortSignal): Promise<T> {
    if (this.#closed) return Promise.reject(new DeviceGoneError(this.id, 'the backend was closed'));
    if (this.#gone || !this.#worker) return Promise.reject(new DeviceGoneError(this.id, this.#gone ?? 'not started'));
    if (signal?.aborted) return Promise.reject(new AbortedError(undefined, { cause: signal.reason }));
    const id = this.#nextId++;
    const worker = this.#worker;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(id);
        reject(new AbortedError(`${req.op} on ${this.id} was aborted`, { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as T);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      worker.postMessage({ id, req });
    });
  }

  async readFlags(): Promise<number> {
    return this.config.flags;
  }

  async readState(opts?: OperationOptions): Promise<DeviceState> {
    if (this.#gone) return (this.#state = DeviceState.ERROR);
    this.#state = await this.#call<DeviceState>({ op: 'state' }, opts?.signal);
    return this.#state;
  }

  async applyArc(from: DeviceState, to: DeviceState, opts?: OperationOptions): Promise<DataSession | null> {
    // The device judges its resuming data by what was written: every accepted write must have reached the kernel
    // (or failed) before it is asked to.
    await this.#resuming?.settle(opts);
    const written = this.#resuming?.bytesWritten ?? 0;
    const opened = await this.#call<SimSessionOpened>({ op: 'arc', from, to, written }, opts?.signal);
    this.#state = to;
    const effect = arcSessionEffect(from, to);
    if (effect.closes === 'saving') await this.#closeSaving();
    if (effect.closes === 'resuming') await this.#closeResuming();
    if (opened.session === null) return null;
    let host: RingSocket;
    try {
      host = await this.#connect(opened.keys, opts?.signal);
    } catch (cause) {
      throw this.#gone
        ? new DeviceGoneError(this.id, this.#gone, { cause })
        : new DataSessionMissingError(`could not connect the data session of ${this.id}: ${(cause as Error).message}`, {
            cause,
          });
    }
    if (opened.session === 'saving') {
      const saving = (this.#saving = new SimSavingSession(opened.id, host, this.#link));
      for (const ev of this.#early.splice(0)) if (ev.session === opened.id) saving.event(ev);
      return saving;
    }
    return (this.#resuming = new SimResumingSession(opened.id, host.socket, this.#link));
  }

  /** Connects the data socket and runs the handshake (data-session-handshake.ts) before handing it to a session. */
  async #connect(keys: SessionKeys, signal: AbortSignal | undefined): Promise<RingSocket> {
    const path = this.#address?.path;
    if (!path) throw new Error('the device has no data socket');
    const host = await RingSocket.connect(path, SOCKET_READ_BUFFER, signal);
    try {
      await proveToDevice(host, keys, signal);
    } catch (err) {
      host.destroy();
      if (signal?.aborted) throw new AbortedError('connecting the data session was aborted', { cause: signal.reason });
      throw err;
    }
    return host;
  }

  async #closeSaving(): Promise<void> {
    const s = this.#saving;
    this.#saving = null;
    await s?.close();
  }

  async #closeResuming(): Promise<void> {
    const s = this.#resuming;
    this.#resuming = null;
    await s?.close();
  }

  async precopyInfo(session: SavingSession, opts?: OperationOptions): Promise<PrecopyInfo> {
    const info = await this.#call<{ initialBytes: number; dirtyBytes: number }>(
      { op: 'precopy-info', read: session.bytesRead },
      opts?.signal,
    );
    return { initialBytes: BigInt(info.initialBytes), dirtyBytes: BigInt(info.dirtyBytes), reinit: false };
  }

  async stopCopySize(opts?: OperationOptions): Promise<bigint> {
    const left = await this.#call<number | null>(
      { op: 'stop-copy-size', read: this.#saving?.bytesRead ?? 0 },
      opts?.signal,
    );
    return BigInt(left ?? fullStreamSize(this.config.pageCount));
  }

  /** VFIO_DEVICE_RESET; a device whose thread died is restarted, in its power-on state. */
  async reset(opts?: OperationOptions): Promise<void> {
    await this.#closeSaving();
    await this.#closeResuming();
    if (this.#gone || !this.#worker) {
      const old = this.#worker;
      this.#worker = null;
      await old?.terminate();
      await this.#start(opts?.signal);
      return;
    }
    await this.#call({ op: 'reset' }, opts?.signal);
    this.#state = DeviceState.RUNNING;
  }

  async stateDigest(opts?: OperationOptions): Promise<string> {
    return this.#call<string>({ op: 'digest' }, opts?.signal);
  }

  /** With `clock=manual`: lets `ms` of device time pass (a running device writes its pages meanwhile). */
  async advanceClock(ms: number, opts?: OperationOptions): Promise<void> {
    await this.#call({ op: 'advance', ms }, opts?.signal);
  }

  /** What the device thread has produced and consumed, and its heap. */
  async stats(opts?: OperationOptions): Promise<SimStats> {
    return this.#call<SimStats>({ op: 'stats' }, opts?.signal);
  }

  /** Why the device's thread went away, or null. */
  get gone(): string | null {
    return this.#gone;
  }

  describe(): Record<string, unknown> {
    const c = this.config;
    return {
      kind: 'sim',
      spec: this.id,
      profile: c.profile.name,
      modelledOn: c.profile.modelledOn,
      size: c.size,
      sizeText: formatSize(c.size),
      pages: c.pageCount,
      flags: flagNames(c.flags),
      seed: c.seed,
      dirtyRate: c.dirtyRate,
      clock: c.clock,
      layout: c.profile.layout.map((r) => ({
        kind: PAGE_KIND_NAMES[r.kind],
        share: r.share,
        hot: r.hot,
        role: r.role,
      })),
      faults: Object.fromEntries(Object.entries(c.faults).filter(([, v]) => v !== undefined && v !== false)),
      streamBytes: fullStreamSize(c.pageCount),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#closeSaving();
    await this.#closeResuming();
    this.#closed = true;
    const err = new DeviceGoneError(this.id, 'the backend was closed');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    const worker = this.#worker;
    this.#worker = null;
    await worker?.terminate();
    if (this.#address) releaseSocketAddress(this.#address);
  }

  /** Where the data socket listens (an abstract name starts with NUL), for diagnostics and tests. */
  get dataSocketPath(): string | null {
    return this.#address?.path ?? null;
  }
}
