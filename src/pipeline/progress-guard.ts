// Progress limits for one end of a pipeline (a peer's socket, a device's data session). An idle timer per operation
// alone lets a peer hold the other end forever by trickling a byte now and then; this guard also demands a minimum
// rate, counted only over the time this side spent waiting on the other (never blaming a peer for our own pauses).
import { setTimeout } from 'node:timers';
import type { ByteSink, ByteSource } from './byte-endpoints.ts';

export interface ProgressLimits {
  /** Fail when one read or write makes no progress for this long (0 or undefined: no idle limit). */
  idleMs?: number | undefined;
  /**
   * Fail when, over `rateWindowMs` of waiting, fewer than `minRate` bytes per second moved (0 or undefined: no
   * minimum rate).
   */
  minRate?: number | undefined;
  /** The span the minimum rate is judged over (default: idleMs, else 30 s). */
  rateWindowMs?: number | undefined;
}

/** Builds the error a stall is reported with: which limit tripped, and the bytes moved until then. */
export type StallError = (limit: 'idle' | 'min-rate', bytes: number, detail: string) => Error;

export class ProgressGuard {
  readonly #idleMs: number;
  readonly #minRate: number;
  readonly #windowMs: number;
  readonly #stalled: StallError;
  /** Milliseconds spent with an operation pending, and bytes moved by those operations. */
  #waitedMs = 0;
  #bytes = 0;
  /** (waitedMs, bytes) pairs from the start and after each operation, oldest first, trimmed to one window. */
  #samples: number[] = [0, 0];
  /** How to fail each pending operation when the idle limit trips. */
  readonly #pending: Array<(err: Error) => void> = [];
  /**
   * One timer for the guard's life, pushed back whenever an operation starts or ends (a timer per operation cost a
   * timer-list insert, a race and their promises per read: most of a save's allocations). Held only while an
   * operation is pending; when it fires then, nothing has moved for idleMs.
   */
  #timer: NodeJS.Timeout | null = null;

  constructor(limits: ProgressLimits, stalled: StallError) {
    this.#idleMs = limits.idleMs ?? 0;
    this.#minRate = limits.minRate ?? 0;
    this.#windowMs = limits.rateWindowMs ?? (this.#idleMs || 30_000);
    this.#stalled = stalled;
  }

  get active(): boolean {
    return this.#idleMs > 0 || this.#minRate > 0;
  }

  /** Bytes moved through guarded operations. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Runs one operation; `moved` says how many bytes it moved. Rejects with the stall error when a limit trips. */
  async run<T>(op: () => Promise<T>, moved: (result: T) => number): Promise<T> {
    const timed = this.#minRate > 0;
    const started = timed ? performance.now() : 0;
    let result: T;
    if (this.#idleMs > 0) {
      let fail!: (err: Error) => void;
      // the operation may be left behind by a stall; its owner tears it down, and its late settling changes nothing
      const watched = new Promise<T>((resolve, reject) => {
        fail = reject;
        op().then(resolve, reject);
      });
      this.#pending.push(fail);
      this.#touch();
      try {
        result = await watched;
      } finally {
        const pending = this.#pending;
        const i = pending.indexOf(fail);
        if (i >= 0) {
          pending[i] = pending[pending.length - 1]!;
          pending.pop();
        }
        // the others still waiting count from now; with none, the timer just stops holding the process
        if (pending.length > 0) this.#touch();
        else this.#timer?.unref();
      }
    } else {
      result = await op();
    }
    this.#bytes += moved(result);
    if (timed) {
      this.#waitedMs += performance.now() - started;
      this.#checkRate();
    }
    return result;
  }

  /** Something moved: the idle limit counts from now, and holds the process open only while an operation waits. */
  #touch(): void {
    let timer = this.#timer;
    if (timer === null) {
      timer = setTimeout(() => this.#idle(), this.#idleMs);
      this.#timer = timer;
    } else {
      timer.refresh();
    }
    if (this.#pending.length > 0) timer.ref();
    else timer.unref();
  }

  #idle(): void {
    if (this.#pending.length === 0) return;
    const err = this.#stalled('idle', this.#bytes, `nothing moved for ${this.#idleMs} ms`);
    for (const fail of this.#pending.splice(0)) fail(err);
  }

  #checkRate(): void {
    if (this.#minRate <= 0) return;
    const s = this.#samples;
    s.push(this.#waitedMs, this.#bytes);
    // Keep the newest sample that is at least one window old as the reference, and nothing older.
    while (s.length >= 4 && this.#waitedMs - s[2]! >= this.#windowMs) s.splice(0, 2);
    const waited = this.#waitedMs - s[0]!;
    if (waited < this.#windowMs) return;
    const rate = ((this.#bytes - s[1]!) * 1000) / waited;
    if (rate < this.#minRate) {
      throw this.#stalled(
        'min-rate',
        this.#bytes,
        `${Math.round(rate)} bytes/s over the last ${Math.round(waited)} ms of waiting, below the minimum of ` +
          `${this.#minRate} bytes/s`,
      );
    }
  }
}

/** `source` with its reads under `limits`. */
export function guardSource(source: ByteSource, limits: ProgressLimits, stalled: StallError): ByteSource {
  const guard = new ProgressGuard(limits, stalled);
  if (!guard.active) return source;
  return {
    name: source.name,
    read: (into, opts) =>
      guard.run(
        () => source.read(into, opts),
        (n) => n,
      ),
    close: () => source.close(),
  };
}

/** `sink` with its writes under `limits`. */
export function guardSink(sink: ByteSink, limits: ProgressLimits, stalled: StallError): ByteSink {
  const guard = new ProgressGuard(limits, stalled);
  if (!guard.active) return sink;
  return {
    name: sink.name,
    write: (data, opts) =>
      guard.run(
        () => sink.write(data, opts),
        () => data.length,
      ),
    end: (opts) => sink.end(opts),
    abort: (reason) => sink.abort(reason),
  };
}
