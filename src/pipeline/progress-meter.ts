// Progress of a running pipeline: bytes of device data moved, bytes on the wire, rate over a sliding window,
// compression ratio and time left (when the total is known). Reported at most every `intervalMs`, plus once at the end.

/**
 * Where a save or load is, reported to `onProgress` at most every 250 ms and once at the end (`done`). The CLI
 * draws it as the progress bar and writes it as NDJSON with --json.
 */
export interface ProgressEvent {
  /** Device (raw) bytes moved so far. */
  bytes: number;
  /** Stream bytes written (save) or read (load) so far. */
  wireBytes: number;
  /** Raw bytes expected in all, when known (device estimate, header, file size). */
  total: number | null;
  /** Raw bytes per second over the last few seconds. */
  rate: number;
  /** Stream bytes per raw byte (0.01 = 100x smaller). */
  ratio: number;
  /** Seconds left at the current rate, when the total is known. */
  eta: number | null;
  /** Milliseconds since the transfer started. */
  elapsedMs: number;
  /** Chunks moved so far. */
  chunks: number;
  /** What is moving: a pre-copy round or the stop-copy part. */
  section: string | null;
  /** The last event of the transfer (its figures are the final ones). */
  done: boolean;
}

export type ProgressListener = (event: ProgressEvent) => void;

const WINDOW_MS = 3_000;

export class ProgressMeter {
  readonly #listener: ProgressListener | undefined;
  readonly #intervalMs: number;
  readonly #start = performance.now();
  #last = -Infinity;
  #bytes = 0;
  #wire = 0;
  #chunks = 0;
  #total: number | null;
  #section: string | null = null;
  // (time, bytes) samples for the sliding-window rate; a short ring, not one entry per chunk
  #samples: Array<[number, number]> = [];

  constructor(listener: ProgressListener | undefined, opts: { total?: number | null; intervalMs?: number } = {}) {
    this.#listener = listener;
    this.#intervalMs = opts.intervalMs ?? 250;
    this.#total = opts.total ?? null;
  }

  set total(total: number | null) {
    this.#total = total;
  }

  set section(name: string | null) {
    this.#section = name;
  }

  /** Counts one chunk moved (raw bytes, stream bytes). */
  chunk(raw: number, wire: number): void {
    this.#bytes += raw;
    this.#wire += wire;
    this.#chunks++;
    this.#maybeEmit();
  }

  /** Counts stream bytes that carry no device data (header, markers, trailer). */
  overhead(wire: number): void {
    this.#wire += wire;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get wireBytes(): number {
    return this.#wire;
  }

  get elapsedMs(): number {
    return performance.now() - this.#start;
  }

  snapshot(done = false): ProgressEvent {
    const now = performance.now();
    const elapsedMs = now - this.#start;
    let rate: number;
    const first = this.#samples[0];
    if (!done && first && now - first[0] > 50) rate = ((this.#bytes - first[1]) * 1000) / (now - first[0]);
    else rate = elapsedMs > 0 ? (this.#bytes * 1000) / elapsedMs : 0;
    const total = this.#total;
    const eta = done ? 0 : total !== null && rate > 0 ? Math.max(0, total - this.#bytes) / rate : null;
    return {
      bytes: this.#bytes,
      wireBytes: this.#wire,
      total,
      rate,
      ratio: this.#bytes > 0 ? this.#wire / this.#bytes : 0,
      eta,
      elapsedMs,
      chunks: this.#chunks,
      section: this.#section,
      done,
    };
  }

  /** The final event (always delivered). */
  finish(): ProgressEvent {
    const event = this.snapshot(true);
    this.#listener?.(event);
    return event;
  }

  #maybeEmit(): void {
    if (!this.#listener) return;
    const now = performance.now();
    if (now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#samples.push([now, this.#bytes]);
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > WINDOW_MS) this.#samples.shift();
    this.#listener(this.snapshot());
  }
}
