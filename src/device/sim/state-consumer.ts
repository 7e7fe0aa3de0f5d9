// The resuming side of a simulated device, inside its worker: reads the data socket and checks everything it is given
// (identity, framing, every page's bytes, the integrity trailer, the length), building the new state aside. Only the
// RESUMING to STOP arc installs it, and only if the stream was complete and sound.
import type { Socket } from 'node:net';
import type { ConnectionReader, DeviceDataConnection } from './device-data-connection.ts';
import { DeviceStreamParser, StreamProblem } from './device-stream-format.ts';
import { PageChecker } from './page-content.ts';
import { PAGE_SIZE } from './profiles.ts';
import type { SimDeviceModel } from './sim-device-model.ts';
import { faultStops } from './sim-spec.ts';

export interface ConsumerHooks {
  die(detail: string): void;
}

export interface ResumedState {
  seed: number;
  gen: Uint32Array;
}

export class StateConsumer implements ConnectionReader {
  readonly id: number;
  readonly #model: SimDeviceModel;
  readonly #hooks: ConsumerHooks;
  readonly #parser: DeviceStreamParser;
  readonly #checker: PageChecker;
  #seed = 0;
  #gen: Uint32Array | null = null;
  /** A bit per page: received yet? (A byte per page was 4 MB of a 16 GiB device's memory, all of it touched.) */
  #received: Uint8Array | null = null;
  #receivedCount = 0;
  #consumed = 0;
  #socket: Socket | null = null;
  /** Offsets where an injected fault stops reading (die, fail, stall), found once instead of per read. */
  readonly #faultOffsets: readonly number[];
  /** Where the last read was offered to land. */
  #space: Uint8Array = new Uint8Array(0);
  #ended = false;
  #failed: string | null = null;
  #waiters = new Set<() => void>();

  constructor(id: number, model: SimDeviceModel, hooks: ConsumerHooks) {
    this.id = id;
    this.#model = model;
    this.#hooks = hooks;
    this.#faultOffsets = faultStops(model.config.faults);
    this.#checker = new PageChecker(model.map);
    const pageCount = model.config.pageCount;
    const profile = model.config.profile.name;
    this.#parser = new DeviceStreamParser({
      header: (id) => {
        if (id.profile !== profile) {
          throw new StreamProblem(
            'foreign',
            32,
            `state of a ${JSON.stringify(id.profile)} device; this is a ${profile}`,
          );
        }
        if (id.pageCount !== pageCount) {
          throw new StreamProblem(
            'foreign',
            16,
            `state of a ${id.pageCount * (PAGE_SIZE / 1024)} KiB device; this one has ${pageCount * (PAGE_SIZE / 1024)} KiB`,
          );
        }
        this.#seed = id.seed;
        this.#gen = new Uint32Array(pageCount);
        this.#received = new Uint8Array(Math.ceil(pageCount / 8));
      },
      record: (entries, data, offset) => {
        const gen = this.#gen!;
        const received = this.#received!;
        for (let i = 0; i < entries.length / 2; i++) {
          const page = entries[i * 2]!;
          const g = entries[i * 2 + 1]!;
          if (page >= pageCount) {
            throw new StreamProblem(
              'malformed',
              offset,
              `record at offset ${offset} names page ${page} of ${pageCount}`,
            );
          }
          const byte = page >>> 3;
          const bit = 1 << (page & 7);
          const seen = (received[byte]! & bit) !== 0;
          if (seen && g < gen[page]!) {
            throw new StreamProblem('malformed', offset, `page ${page} goes back from generation ${gen[page]} to ${g}`);
          }
          if (!this.#checker.matches(data, this.#seed, page, g, i * PAGE_SIZE)) {
            throw new StreamProblem('corrupt', offset, `page ${page} in the record at offset ${offset} is corrupt`);
          }
          // written only when it changes: a page left at generation 0 (all of them, without dirtying) is never touched,
          // so that part of a large device's table costs no memory
          if (gen[page] !== g) gen[page] = g;
          if (!seen) {
            received[byte] = received[byte]! | bit;
            this.#receivedCount++;
          }
        }
      },
    });
  }

  /** The host has connected its end of the data fd. */
  get attached(): boolean {
    return this.#socket !== null;
  }

  get consumed(): number {
    return this.#consumed;
  }

  attach(connection: DeviceDataConnection): void {
    const socket = connection.socket;
    this.#socket = socket;
    connection.readWith(this);
    socket.on('end', () => this.#end());
    socket.on('error', () => this.#end());
    socket.on('close', () => this.#end());
  }

  close(): void {
    this.#socket?.destroy();
    this.#end();
  }

  #end(): void {
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    // called on every read: nobody waits, most of the time, and a copy of an empty set is still an allocation
    if (this.#waiters.size === 0) return;
    // Waiters that are still unsatisfied re-register themselves, so take the set before calling them.
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /**
   * ConnectionReader: the kernel reads into the parser's record, never past the next injected fault's offset (so a
   * fault meets its byte at the start of a read); a refused stream is read into a scratch and dropped, so the writer
   * never blocks on it.
   */
  space(): Uint8Array {
    let space = this.#parser.space();
    const pos = this.#consumed;
    const faultOffsets = this.#faultOffsets;
    for (let k = 0; k < faultOffsets.length; k++) {
      const b = faultOffsets[k]!;
      if (b > pos && b - pos < space.length) space = space.subarray(0, b - pos);
    }
    this.#space = space;
    return space;
  }

  took(n: number): boolean {
    const f = this.#model.config.faults;
    const pos = this.#consumed;
    if (pos === f.dieAt) {
      this.#hooks.die(`died at stream offset ${pos} (die-at)`);
      return false;
    }
    if (pos === f.failAt) {
      this.#failed = `the data session failed at offset ${pos} (fail-at)`;
      this.#socket?.destroy();
      this.#end();
      return false;
    }
    // Stops reading for good: the writer fills the socket and blocks, as with a wedged device.
    if (pos === f.stallAt) return false;
    if (f.corruptAt !== undefined && f.corruptAt >= pos && f.corruptAt < pos + n) {
      this.#space[f.corruptAt - pos]! ^= 0x5a;
    }
    if (!this.#parser.problem) {
      try {
        this.#parser.took(n);
      } catch (err) {
        // The problem is kept; the rest is drained and discarded.
        if (!(err instanceof StreamProblem)) throw err;
      }
    }
    this.#consumed += n;
    this.#notify();
    return true;
  }

  /** Resolves once `n` bytes were taken (everything the host wrote), or the fd ended or failed. */
  waitConsumed(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#consumed >= n || this.#ended) resolve();
        else this.#waiters.add(check);
      };
      check();
    });
  }

  /** The state to install, or why not. */
  finish(): ResumedState {
    const problem = this.#parser.problem;
    if (problem) throw problem;
    if (this.#failed) throw new StreamProblem('session-failed', this.#consumed, this.#failed);
    if (!this.#parser.complete) {
      throw new StreamProblem(
        'truncated',
        this.#consumed,
        `the stream ends after ${this.#consumed} bytes without its trailer (truncated)`,
      );
    }
    if (this.#receivedCount < this.#model.config.pageCount) {
      throw new StreamProblem(
        'incomplete',
        this.#consumed,
        `the stream carried ${this.#receivedCount} of ${this.#model.config.pageCount} pages`,
      );
    }
    return { seed: this.#seed, gen: this.#gen! };
  }
}
