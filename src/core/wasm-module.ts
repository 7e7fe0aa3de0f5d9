// Owns the WebAssembly core: picks the SIMD build where the engine validates it (scalar otherwise), instantiates it
// once per thread through the AssemblyScript loader, and hands out typed views of its fixed arenas.
import * as loader from '@assemblyscript/loader';
import { CoreLoadError } from '../errors.ts';
import { SCALAR_WASM_BASE64, SIMD_WASM_BASE64 } from './generated/wasm-binaries.ts';

export interface CoreExports {
  memory: WebAssembly.Memory;
  init(): void;
  inPtr(): number;
  inSize(): number;
  outPtr(): number;
  outSize(): number;
  simd(): number;
  crc32cUpdate(crc: number, ptr: number, len: number): number;
}

export type CoreFlavor = 'simd' | 'scalar';

export interface CoreInstance {
  readonly flavor: CoreFlavor;
  readonly exports: CoreExports;
  /** The input arena as bytes; re-read after anything that may grow memory. */
  input(): Uint8Array;
  /** The output arena as bytes. */
  output(): Uint8Array;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
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

/**
 * The core for this thread (one instance per flavor, created on first use). `VFIO_MIGRATE_CORE=scalar|simd`
 * forces a build, for benchmarks and for proving the fallback.
 */
export function loadCore(prefer?: CoreFlavor): CoreInstance {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const forced = env?.VFIO_MIGRATE_CORE;
  const flavor = chooseFlavor(prefer ?? (forced === 'scalar' || forced === 'simd' ? forced : undefined));
  const cached = instances.get(flavor);
  if (cached) return cached;
  let exports: CoreExports;
  try {
    const module = new WebAssembly.Module(bytesFor(flavor));
    exports = loader.instantiateSync<CoreExports>(module, {}).exports as unknown as CoreExports;
    exports.init();
  } catch (cause) {
    throw new CoreLoadError(`could not instantiate the ${flavor} WebAssembly core`, { cause });
  }
  const instance: CoreInstance = {
    flavor,
    exports,
    input: () => new Uint8Array(exports.memory.buffer, exports.inPtr(), exports.inSize()),
    output: () => new Uint8Array(exports.memory.buffer, exports.outPtr(), exports.outSize()),
  };
  instances.set(flavor, instance);
  return instance;
}
