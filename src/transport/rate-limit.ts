// A link's bandwidth as a limit: one token bucket shared by every connection that crosses the link (a migration's
// data streams share it, as they would share a real link), like QEMU's max-bandwidth. It also lets tests and demos
// model a slow link on loopback, so convergence and downtime can be measured against a known rate.
import { AbortedError, UsageError } from '../errors.ts';
import type { ByteSink } from '../pipeline/byte-endpoints.ts';

/** Writes are cut into slices of at most this many bytes, so streams sharing the bucket interleave finely. */
const SLICE = 64 << 10;

interface Waiter {
  bytes: number;
  resolve(): void;
  reject(err: Error): void;
}

export class LinkRateLimiter {
  /** Bytes per second. */
  readonly rate: number;
  /** The most that may go at once after an idle spell. */
  readonly burst: number;
  #tokens: number;
  #last = performance.now();
  #queue: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Bytes that went through. */
  sent = 0;

  constructor(bytesPerSecond: number, opts: { burstBytes?: number } = {}) {
    if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) {
      throw new UsageError(`a link rate must be a positive number of bytes per second, not ${bytesPerSecond}`);
    }
    this.rate = bytesPerSecond;
    // 10 ms worth, at least two slices: smooth at any rate, without a timer per small write; a bucket of one slice
    // would lose whatever a late timer (a busy event loop) should have refilled, and run the link below its rate
    this.burst = opts.burstBytes ?? Math.max(2 * SLICE, Math.round(bytesPerSecond / 100));
    this.#tokens = this.burst;
  }

  /** Waits (first come, first served) until `bytes` may cross the link. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortedError(undefined, { cause: signal.reason }));
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= Math.min(bytes, this.burst)) {
      this.#tokens -= bytes;
      this.sent += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(new AbortedError(undefined, { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      this.#schedule();
    });
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
  }

  #schedule(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const head = this.#queue[0]!;
    // a slice larger than the bucket goes once the bucket is full, and runs the balance negative (its debt is paid
    // before anything else goes): the average rate holds for any write size
    const need = Math.min(head.bytes, this.burst) - this.#tokens;
    const ms = need <= 0 ? 0 : Math.ceil((need * 1000) / this.rate);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#refill();
      while (this.#queue.length > 0) {
        const w = this.#queue[0]!;
        if (this.#tokens < Math.min(w.bytes, this.burst)) break;
        this.#queue.shift();
        this.#tokens -= w.bytes;
        this.sent += w.bytes;
        w.resolve();
      }
      this.#schedule();
    }, ms);
  }
}

/** `sink` with every write passed through `limiter` (in slices, so sharers interleave). */
export function rateLimitedSink(sink: ByteSink, limiter: LinkRateLimiter): ByteSink {
  return {
    name: sink.name,
    async write(data, opts) {
      for (let off = 0; off < data.length; off += SLICE) {
        const piece = data.subarray(off, Math.min(data.length, off + SLICE));
        await limiter.take(piece.length, opts?.signal);
        await sink.write(piece, opts);
      }
    },
    end: (opts) => sink.end(opts),
    abort: (reason) => sink.abort(reason),
  };
}

const PREFIX = { '': 0, k: 1, m: 2, g: 3, t: 4 } as const;

/** The rate convention every rate option shares (--max-bandwidth, plan's --link), for usage texts. */
export const RATE_CONVENTION =
  'bits with a lowercase b (10gbit, 1gbps, 100mb: decimal, as links are sold), bytes with B (100MB: decimal; ' +
  '100MiB: binary), a bare number or k/m/g alone in bytes (binary, as sizes: 100m = 100 MiB/s)';

/**
 * A rate in bytes per second, one convention for every rate option: `10gbit`, `10gbps`, `10gb` (bits: a lowercase
 * `b`, decimal prefixes as links are sold: 1.25e9 bytes/s); `100MB` (bytes, decimal); `100MiB` (bytes, binary);
 * `100m` or `1048576` (bytes: a bare prefix is binary, as every size option's is); each with an optional `/s`.
 * `unlimited` is Infinity where `allowUnlimited` (no link limit). The `b` alone is case-sensitive (b bits, B
 * bytes), as networking writes it; `bit`, `bps` and `iB` read in any case.
 */
export function parseRate(text: string, what = 'a rate', opts: { allowUnlimited?: boolean } = {}): number {
  const t = text.trim();
  if (opts.allowUnlimited && /^(unlimited|inf|none)$/i.test(t)) return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?)(bits?|bps|b|ib|B)?(?:\/s)?$/i.exec(t);
  const fail = () =>
    new UsageError(
      `${what} must be like 10gbit or 1gbps (bits/s), 100MB or 100MiB (bytes/s), 100m or 1048576 (bytes/s, binary)` +
        `${opts.allowUnlimited ? ' or unlimited' : ''}, not ${JSON.stringify(text)}`,
    );
  if (!m) throw fail();
  const power = PREFIX[m[2]!.toLowerCase() as keyof typeof PREFIX];
  const unit = m[3] ?? '';
  let value: number;
  if (/^(bits?|bps)$/i.test(unit) || unit === 'b') value = (Number(m[1]) * 1000 ** power) / 8;
  else if (unit === 'B') value = Number(m[1]) * 1000 ** power;
  else if (/^ib$/i.test(unit)) {
    // a binary prefix needs a prefix to be binary: "100iB" names nothing
    if (power === 0) throw fail();
    value = Number(m[1]) * 1024 ** power;
  } else value = Number(m[1]) * 1024 ** power;
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${what} ${JSON.stringify(text)} is out of range`);
  return value;
}
