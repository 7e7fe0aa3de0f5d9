// The stream digest: a hash chain over the chunks in order, d = XXH64(d_prev || rawLength || rawHash), starting
// from 0. It covers every raw byte through the per-chunk XXH64 (each chunk is verified against its descriptor) and
// costs 24 bytes of hashing per chunk, so the single thread that keeps order never hashes bulk data.
import { xxh64 } from '../core/index.ts';
import { setU64 } from './little-endian.ts';

export class StreamDigest {
  #value = 0n;
  #count = 0;
  readonly #record = new Uint8Array(24);
  readonly #view = new DataView(this.#record.buffer);

  /** Adds the next chunk (in stream order). */
  add(rawLength: number, rawHash: bigint): void {
    this.#view.setBigUint64(0, this.#value, true);
    setU64(this.#view, 8, rawLength);
    this.#view.setBigUint64(16, rawHash, true);
    this.#value = xxh64(this.#record);
    this.#count++;
  }

  get value(): bigint {
    return this.#value;
  }

  get count(): number {
    return this.#count;
  }
}
