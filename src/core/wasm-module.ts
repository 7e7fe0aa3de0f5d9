// Owns the WebAssembly core: picks the SIMD build where the engine validates it (scalar otherwise), instantiates it
// once per thread through the AssemblyScript loader, and hands out typed views of its fixed arenas.
//
// Memory never grows after init() (the arenas are fixed and nothing allocates), so the views are created once.
import * as loader from '@assemblyscript/loader';
import { CoreLoadError } from '../errors.ts';
import { SCALAR_WASM_BASE64, SIMD_WASM_BASE64 } from './generated/wasm-binaries.ts';

/** Raw exports. Pointers are byte offsets into `memory`; i64 values cross the boundary as bigint. */
export interface CoreExports {
  /** The instance's memory (a WebAssembly.Memory), typed by what is used so the declarations need no DOM lib. */
  memory: { readonly buffer: ArrayBuffer };
  init(): void;
  inPtr(): number;
  inSize(): number;
  windowPtr(): number;
  windowSize(): number;
  outPtr(): number;
  outSize(): number;
  statePtr(): number;
  stateSize(): number;
  xxh64State(): number;
  xxh32State(): number;
  xxh3State(): number;
  cdcState(): number;
  simd(): number;
  crc32cUpdate(crc: number, ptr: number, len: number): number;
  xxh32(ptr: number, len: number, seed: number): number;
  xxh32Reset(state: number, seed: number): void;
  xxh32Update(state: number, ptr: number, len: number): void;
  xxh32Digest(state: number): number;
  xxh64(ptr: number, len: number, seed: bigint): bigint;
  xxh64Reset(state: number, seed: bigint): void;
  xxh64Update(state: number, ptr: number, len: number): void;
  xxh64Digest(state: number): bigint;
  xxh3(ptr: number, len: number, seed: bigint): bigint;
  xxh3Reset(state: number, seed: bigint): void;
  xxh3Update(state: number, ptr: number, len: number): void;
  xxh3Digest(state: number): bigint;
  xxh32And64(ptr: number, len: number): bigint;
  xxh32Out(): number;
  isZero(ptr: number, len: number): number;
  zeroPages(ptr: number, len: number, pageSize: number, out: number): number;
  lz4Bound(n: number): number;
  lz4Compress(src: number, len: number, dst: number, cap: number, acceleration: number): number;
  lz4Decompress(src: number, len: number, dst: number, cap: number, dictLen: number): number;
  lz4SlideWindow(out: number, produced: number, dictLen: number, windowSize: number): number;
  cdcReset(state: number, min: number, avg: number, max: number): void;
  cdcNext(state: number, ptr: number, len: number): number;
  simPagePtr(): number;
  simPageFill(dst: number, kind: number, seed: number, page: number, gen: number): void;
}

export type CoreFlavor = 'simd' | 'scalar';

/** Something holding a streaming state slot; evicted (asked to save its state) when another user claims it. */
export interface SlotUser {
  evict(): void;
}

export interface CoreInstance {
  readonly flavor: CoreFlavor;
  readonly exports: CoreExports;
  /** The input arena (IN_SIZE bytes): the host writes one call's input here. */
  input(): Uint8Array;
  /** The output arena (OUT_SIZE bytes). */
  output(): Uint8Array;
  /** Byte view of the whole memory (for the window and state slots). */
  memory(): Uint8Array;
  readonly inPtr: number;
  readonly inSize: number;
  readonly outPtr: number;
  readonly outSize: number;
  readonly windowPtr: number;
  readonly windowSize: number;
  readonly statePtr: number;
  /** Which stream object currently has its state in each slot (keyed by slot address). */
  readonly slotOwners: Map<number, SlotUser>;
}

/** Uint8Array.fromBase64 where the engine has it (Node 25, Deno 2.5): about 3 ms of start-up sooner than atob. */
const fromBase64 = (Uint8Array as { fromBase64?: (text: string) => Uint8Array<ArrayBuffer> }).fromBase64;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  if (fromBase64) return fromBase64(text);
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

let simdBytes: Uint8Array<ArrayBuffer> | undefined;
let scalarBytes: Uint8Array<ArrayBuffer> | undefined;

/** Which build this engine can run: SIMD when it validates, scalar otherwise (or when forced). */
export function chooseFlavor(prefer?: CoreFlavor): CoreFlavor {
  if (prefer === 'scalar') return 'scalar';
  simdBytes ??= decodeBase64(SIMD_WASM_BASE64);
  if (WebAssembly.validate(simdBytes)) return 'simd';
  if (prefer === 'simd') throw new CoreLoadError('this engine does not support WebAssembly SIMD');
  return 'scalar';
}

function bytesFor(flavor: CoreFlavor): Uint8Array<ArrayBuffer> {
  if (flavor === 'simd') return (simdBytes ??= decodeBase64(SIMD_WASM_BASE64));
  return (scalarBytes ??= decodeBase64(SCALAR_WASM_BASE64));
}

const instances = new Map<CoreFlavor, CoreInstance>();
let defaultInstance: CoreInstance | undefined;

function instantiate(flavor: CoreFlavor): CoreInstance {
  let exports: CoreExports;
  try {
    const module = new WebAssembly.Module(bytesFor(flavor));
    exports = loader.instantiateSync(module, {}).exports as unknown as CoreExports;
    exports.init();
  } catch (cause) {
    throw new CoreLoadError(`could not instantiate the ${flavor} WebAssembly core`, { cause });
  }
  let buffer = exports.memory.buffer;
  let whole = new Uint8Array(buffer);
  const inPtr = exports.inPtr();
  const inSize = exports.inSize();
  const outPtr = exports.outPtr();
  const outSize = exports.outSize();
  let input = whole.subarray(inPtr, inPtr + inSize);
  let output = whole.subarray(outPtr, outPtr + outSize);
  // Views stay valid unless memory grows, which the core never does after init; re-created defensively if so.
  const refresh = () => {
    if (exports.memory.buffer !== buffer) {
      buffer = exports.memory.buffer;
      whole = new Uint8Array(buffer);
      input = whole.subarray(inPtr, inPtr + inSize);
      output = whole.subarray(outPtr, outPtr + outSize);
    }
  };
  return {
    flavor,
    exports,
    input: () => {
      refresh();
      return input;
    },
    output: () => {
      refresh();
      return output;
    },
    memory: () => {
      refresh();
      return whole;
    },
    inPtr,
    inSize,
    outPtr,
    outSize,
    windowPtr: exports.windowPtr(),
    windowSize: exports.windowSize(),
    statePtr: exports.statePtr(),
    slotOwners: new Map(),
  };
}

/**
 * The core for this thread (one instance per flavor, created on first use). `VFIO_MIGRATE_CORE=scalar|simd`
 * forces a build, for benchmarks and for proving the fallback. Each worker thread has its own module state,
 * hence its own instances.
 */
export function loadCore(prefer?: CoreFlavor): CoreInstance {
  if (prefer === undefined && defaultInstance) return defaultInstance;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const forced = env?.VFIO_MIGRATE_CORE;
  const flavor = chooseFlavor(prefer ?? (forced === 'scalar' || forced === 'simd' ? forced : undefined));
  let instance = instances.get(flavor);
  if (!instance) {
    instance = instantiate(flavor);
    instances.set(flavor, instance);
  }
  if (prefer === undefined) defaultInstance = instance;
  return instance;
}

/**
 * Makes `user` the holder of the state slot at `slot`: the previous holder is evicted (saves its state) first.
 * Returns true when the caller must restore its own state into the slot (it was not already the holder).
 */
export function claimSlot(core: CoreInstance, slot: number, user: SlotUser): boolean {
  const owner = core.slotOwners.get(slot);
  if (owner === user) return false;
  owner?.evict();
  core.slotOwners.set(slot, user);
  return true;
}

/** Forgets `user` as holder of `slot` (its state is no longer needed). */
export function releaseSlot(core: CoreInstance, slot: number, user: SlotUser): void {
  if (core.slotOwners.get(slot) === user) core.slotOwners.delete(slot);
}

const transientWindowUser: SlotUser = { evict() {} };

/**
 * Claims the LZ4 window (the 64 KiB before OUT) for `user`, or for a one-off use when omitted. Returns true when
 * the caller must restore its own dictionary there.
 */
export function claimWindow(core: CoreInstance, user: SlotUser = transientWindowUser): boolean {
  return claimSlot(core, core.windowPtr, user);
}
