// The simulated device's internal state, as its firmware would hold it: one generation number per page (the page's
// bytes follow from it), the migration state, and a running device that keeps writing pages at a configured rate.
import { createHash } from 'node:crypto';
import process from 'node:process';
import { DeviceState, isRunningState } from '../../fsm/index.ts';
import { mix32, PageMap } from './page-content.ts';
import { layoutRegions, PAGE_SIZE } from './profiles.ts';
import type { SimConfig } from './sim-spec.ts';

export class SimDeviceModel {
  readonly config: SimConfig;
  readonly map: PageMap;
  state: DeviceState = DeviceState.RUNNING;
  /** The seed the page contents follow (a resumed device adopts its source's). */
  contentSeed: number;
  gen: Uint32Array;
  /** Called for every page the running device writes (the saving session tracks them as dirty). */
  onDirty: ((page: number) => void) | null = null;
  #rng: number;
  #manualMs = 0;
  #lastMs: number;
  #carry = 0;
  /** Pages written by the running device since the model was created or reset. */
  pagesDirtied = 0;

  constructor(config: SimConfig) {
    this.config = config;
    this.map = new PageMap(layoutRegions(config.profile, config.pageCount), config.pageCount);
    this.contentSeed = config.seed;
    this.gen = new Uint32Array(config.pageCount);
    this.#rng = mix32(config.seed ^ 0xa5a5a5a5) || 1;
    this.#lastMs = this.now();
  }

  now(): number {
    // hrtime, not performance.now(): the first call of that costs a fresh thread about a millisecond
    return this.config.clock === 'manual' ? this.#manualMs : Number(process.hrtime.bigint()) / 1e6;
  }

  /** Manual clock: time passes, and the running device writes what it writes in that time. */
  advance(ms: number): void {
    this.#manualMs += ms;
    this.accrue();
  }

  /** Brings the running device's writes up to now. */
  accrue(): void {
    const now = this.now();
    const elapsed = now - this.#lastMs;
    this.#lastMs = now;
    if (!isRunningState(this.state) || this.config.dirtyRate <= 0 || this.map.hotPages === 0 || elapsed <= 0) return;
    const exact = (this.config.dirtyRate * elapsed) / 1000 / PAGE_SIZE + this.#carry;
    // A long gap rewrites the hot set several times over; more writes would change nothing a reader could see.
    const pages = Math.min(Math.floor(exact), this.map.hotPages * 4);
    this.#carry = exact - Math.floor(exact);
    this.dirty(pages);
  }

  /** The running device writes `n` pages of its hot regions, chosen by its seeded generator. */
  dirty(n: number): void {
    for (let i = 0; i < n; i++) {
      let s = this.#rng;
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      this.#rng = s;
      const page = this.map.hotPage((s >>> 0) % this.map.hotPages);
      this.gen[page] = (this.gen[page]! + 1) >>> 0;
      this.pagesDirtied++;
      this.onDirty?.(page);
    }
  }

  /** Moves to `state`, counting the writes of the state being left first. */
  setState(state: DeviceState): void {
    this.accrue();
    this.state = state;
  }

  /** Seconds until the running device writes its next page (for a producer waiting on new dirty data). */
  msUntilNextPage(): number {
    if (this.config.dirtyRate <= 0 || this.map.hotPages === 0) return Number.POSITIVE_INFINITY;
    return Math.max(1, ((1 - this.#carry) * PAGE_SIZE * 1000) / this.config.dirtyRate);
  }

  /** A resumed state replaces the device's. */
  load(contentSeed: number, gen: Uint32Array): void {
    this.contentSeed = contentSeed;
    this.gen = gen;
  }

  /** VFIO_DEVICE_RESET: back to the power-on state. */
  reset(): void {
    this.contentSeed = this.config.seed;
    this.gen = new Uint32Array(this.config.pageCount);
    this.state = DeviceState.RUNNING;
    this.#lastMs = this.now();
    this.#carry = 0;
  }

  /** SHA-256 over the state's identity and every page's generation: equal digests, byte-identical states. */
  digest(): string {
    const h = createHash('sha256');
    h.update(`vfio-migrate sim state v1\0${this.config.profile.name}\0${this.config.pageCount}\0${this.contentSeed}\0`);
    h.update(new Uint8Array(this.gen.buffer, this.gen.byteOffset, this.gen.byteLength));
    return h.digest('hex');
  }
}
