// Checksums over the WebAssembly core: XXH64, XXH3-64, XXH32 (bit-identical to the reference xxHash) and CRC32C.
// One-shot functions copy the input into the IN arena (in arena-sized pieces, through the streaming code when it
// is larger); the *InArena variants hash what the caller already wrote into `core.input()`, with no copy.
// Streaming objects keep their state in a wasm state slot while they are the active user of it, and save it to
// a private copy only when another stream of the same kind takes the slot, so interleaving streams works and a
// single stream costs nothing extra.
import { CoreInputTooLargeError } from '../errors.ts';
import { type CoreInstance, claimSlot, loadCore, releaseSlot, type SlotUser } from './wasm-module.ts';

const U64 = (x: bigint) => BigInt.asUintN(64, x);

// Inputs are copied into the arena and hashed in pieces of this size. Smaller pieces (64-512 KiB, to hash while the
// copy is still in L2) measured no faster than whole 4 MiB chunks in bench/, so a 4 MiB chunk is one call.
export const HASH_PIECE = 4 << 20;

// Per-core streams that carry one-shot hashes of inputs larger than a piece.
const oneShot = new WeakMap<CoreInstance, { x64: Xxh64Stream; x3: Xxh3Stream; x32: Xxh32Stream }>();
function streamsFor(core: CoreInstance) {
  let s = oneShot.get(core);
  if (!s) {
    s = { x64: new Xxh64Stream(0n, core), x3: new Xxh3Stream(0n, core), x32: new Xxh32Stream(0, core) };
    oneShot.set(core, s);
  }
  return s;
}

function checkArenaLength(core: CoreInstance, len: number): void {
  if (!(len >= 0 && len <= core.inSize)) throw new CoreInputTooLargeError('arena input', len, core.inSize);
}

// ---- one-shot ---------------------------------------------------------------------------------------------------

/** XXH64 of `data` (seed defaults to 0, as `xxhsum -H1`). */
export function xxh64(data: Uint8Array, seed = 0n, core: CoreInstance = loadCore()): bigint {
  if (data.length > HASH_PIECE) return streamsFor(core).x64.reset(seed).update(data).digest();
  core.input().set(data);
  return U64(core.exports.xxh64(core.inPtr, data.length, seed));
}

/** XXH3-64 of `data` (seed defaults to 0, as `xxhsum -H3`). */
export function xxh3(data: Uint8Array, seed = 0n, core: CoreInstance = loadCore()): bigint {
  if (data.length > HASH_PIECE) return streamsFor(core).x3.reset(seed).update(data).digest();
  core.input().set(data);
  return U64(core.exports.xxh3(core.inPtr, data.length, seed));
}

/** XXH32 of `data` (the LZ4 frame checksum). */
export function xxh32(data: Uint8Array, seed = 0, core: CoreInstance = loadCore()): number {
  if (data.length > HASH_PIECE) return streamsFor(core).x32.reset(seed).update(data).digest();
  core.input().set(data);
  return core.exports.xxh32(core.inPtr, data.length, seed) >>> 0;
}

/** CRC32C (Castagnoli) of `data`; pass a previous result as `crc` to continue it. */
export function crc32c(data: Uint8Array, crc = 0, core: CoreInstance = loadCore()): number {
  const input = core.input();
  for (let off = 0; off < data.length || off === 0; off += HASH_PIECE) {
    const n = Math.min(HASH_PIECE, data.length - off);
    input.set(data.subarray(off, off + n));
    crc = core.exports.crc32cUpdate(crc, core.inPtr, n);
    if (n === 0) break;
  }
  return crc >>> 0;
}

/** XXH64 of the first `len` bytes of the IN arena (`core.input()`), which the caller filled. */
export function xxh64InArena(len: number, seed = 0n, core: CoreInstance = loadCore()): bigint {
  checkArenaLength(core, len);
  return xxh64At(core.inPtr, len, seed, core);
}

/** XXH64 of the `len` bytes at `ptr` in the core's memory (an arena the caller filled, or the output arena). */
export function xxh64At(ptr: number, len: number, seed = 0n, core: CoreInstance = loadCore()): bigint {
  return U64(core.exports.xxh64(ptr, len, seed));
}

/**
 * XXH64 and XXH32 (seed 0) of the `len` bytes at `ptr` in the core's memory (an arena), in one pass: an LZ4 chunk
 * needs both, and the two hashes' multiply chains overlap (the SIMD build: 1.4 times the speed of one after the other).
 */
export function xxh32And64At(
  ptr: number,
  len: number,
  core: CoreInstance = loadCore(),
): { xxh64: bigint; xxh32: number } {
  const xxh64 = U64(core.exports.xxh32And64(ptr, len));
  const at = core.exports.xxh32Out();
  const m = core.memory();
  return { xxh64, xxh32: (m[at]! | (m[at + 1]! << 8) | (m[at + 2]! << 16) | (m[at + 3]! << 24)) >>> 0 };
}

/** XXH3-64 of the first `len` bytes of the IN arena. */
export function xxh3InArena(len: number, seed = 0n, core: CoreInstance = loadCore()): bigint {
  checkArenaLength(core, len);
  return U64(core.exports.xxh3(core.inPtr, len, seed));
}

/** CRC32C of the first `len` bytes of the IN arena, continuing `crc`. */
export function crc32cInArena(len: number, crc = 0, core: CoreInstance = loadCore()): number {
  checkArenaLength(core, len);
  return core.exports.crc32cUpdate(crc, core.inPtr, len) >>> 0;
}

// ---- streaming --------------------------------------------------------------------------------------------------

abstract class SlotStream implements SlotUser {
  protected readonly core: CoreInstance;
  readonly #addr: number;
  readonly #size: number;
  #saved: Uint8Array | undefined;
  #fresh = true;

  constructor(core: CoreInstance, slotOffset: number, size: number) {
    this.core = core;
    this.#addr = core.statePtr + slotOffset;
    this.#size = size;
  }

  /** Saves the state: another stream is taking the slot. */
  evict(): void {
    this.#saved ??= new Uint8Array(this.#size);
    this.#saved.set(this.core.memory().subarray(this.#addr, this.#addr + this.#size));
  }

  protected abstract resetSlot(addr: number): void;
  protected abstract updateSlot(addr: number, ptr: number, len: number): void;

  /** The slot address, with this stream's state in it. */
  protected acquire(): number {
    const addr = this.#addr;
    if (claimSlot(this.core, addr, this) && !this.#fresh) this.core.memory().set(this.#saved!, addr);
    if (this.#fresh) {
      this.resetSlot(addr);
      this.#fresh = false;
    }
    return addr;
  }

  protected restart(): void {
    this.#fresh = true;
  }

  /** Feeds `data` (any length; fed to the core in arena-sized pieces). */
  update(data: Uint8Array): this {
    const addr = this.acquire();
    const core = this.core;
    const input = core.input();
    for (let off = 0; off < data.length; off += HASH_PIECE) {
      const n = Math.min(HASH_PIECE, data.length - off);
      input.set(off === 0 && n === data.length ? data : data.subarray(off, off + n));
      this.updateSlot(addr, core.inPtr, n);
    }
    return this;
  }

  /** Feeds the first `len` bytes of the IN arena, which the caller filled (no copy). */
  updateFromArena(len: number): this {
    checkArenaLength(this.core, len);
    this.updateSlot(this.acquire(), this.core.inPtr, len);
    return this;
  }

  /** Feeds `len` bytes at address `ptr` of the core's memory (for other core modules hashing the OUT arena). */
  updateFromMemory(ptr: number, len: number): this {
    this.updateSlot(this.acquire(), ptr, len);
    return this;
  }

  /** Frees the slot for other streams; the object must not be used afterwards. */
  dispose(): void {
    releaseSlot(this.core, this.#addr, this);
  }
}

/** Streaming XXH64: `update()` any number of times, `digest()` at any point (it does not end the stream). */
export class Xxh64Stream extends SlotStream {
  #seed: bigint;
  constructor(seed = 0n, core: CoreInstance = loadCore()) {
    super(core, core.exports.xxh64State(), 128);
    this.#seed = seed;
  }
  protected resetSlot(addr: number): void {
    this.core.exports.xxh64Reset(addr, this.#seed);
  }
  protected updateSlot(addr: number, ptr: number, len: number): void {
    this.core.exports.xxh64Update(addr, ptr, len);
  }
  digest(): bigint {
    return U64(this.core.exports.xxh64Digest(this.acquire()));
  }
  reset(seed: bigint = this.#seed): this {
    this.#seed = seed;
    this.restart();
    return this;
  }
}

/** Streaming XXH3-64. */
export class Xxh3Stream extends SlotStream {
  #seed: bigint;
  constructor(seed = 0n, core: CoreInstance = loadCore()) {
    super(core, core.exports.xxh3State(), 1024);
    this.#seed = seed;
  }
  protected resetSlot(addr: number): void {
    this.core.exports.xxh3Reset(addr, this.#seed);
  }
  protected updateSlot(addr: number, ptr: number, len: number): void {
    this.core.exports.xxh3Update(addr, ptr, len);
  }
  digest(): bigint {
    return U64(this.core.exports.xxh3Digest(this.acquire()));
  }
  reset(seed: bigint = this.#seed): this {
    this.#seed = seed;
    this.restart();
    return this;
  }
}

/** Streaming XXH32. */
export class Xxh32Stream extends SlotStream {
  #seed: number;
  constructor(seed = 0, core: CoreInstance = loadCore()) {
    super(core, core.exports.xxh32State(), 64);
    this.#seed = seed;
  }
  protected resetSlot(addr: number): void {
    this.core.exports.xxh32Reset(addr, this.#seed);
  }
  protected updateSlot(addr: number, ptr: number, len: number): void {
    this.core.exports.xxh32Update(addr, ptr, len);
  }
  digest(): number {
    return this.core.exports.xxh32Digest(this.acquire()) >>> 0;
  }
  reset(seed: number = this.#seed): this {
    this.#seed = seed;
    this.restart();
    return this;
  }
}

/** Streaming CRC32C (its state is one number, kept on the JS side). */
export class Crc32cStream {
  readonly #core: CoreInstance;
  #crc = 0;
  constructor(core: CoreInstance = loadCore()) {
    this.#core = core;
  }
  update(data: Uint8Array): this {
    this.#crc = crc32c(data, this.#crc, this.#core);
    return this;
  }
  updateFromArena(len: number): this {
    this.#crc = crc32cInArena(len, this.#crc, this.#core);
    return this;
  }
  digest(): number {
    return this.#crc;
  }
  reset(): this {
    this.#crc = 0;
    return this;
  }
}
