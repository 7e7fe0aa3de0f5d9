// LZ4 block format (no frame) over the WebAssembly core: compress into / decompress into caller buffers, plus
// *InArena variants that work on the IN/OUT arenas directly. Decompression is safe on hostile input: the core
// checks every read, write and match offset, and malformed blocks raise Lz4MalformedError.
import { CoreInputTooLargeError, Lz4MalformedError, Lz4OutputTooSmallError } from '../errors.ts';
import { type CoreInstance, claimWindow, loadCore } from './wasm-module.ts';

/** Largest input of one compress call and largest decoded block (the LZ4 frame maximum block size). */
export const LZ4_MAX_BLOCK = 4 << 20;
/** How far back a match may reach; also the dictionary size kept for linked blocks. */
export const LZ4_WINDOW = 64 << 10;

export interface Lz4CompressOptions {
  /** >= 1; higher is faster with a lower ratio (as `lz4 --fast=N`). Default 1 (= `lz4 -1`). */
  acceleration?: number;
}

export interface Lz4DecompressOptions {
  /** Earlier output that matches may reference (linked blocks); only the last 64 KiB matter. */
  dict?: Uint8Array;
}

/** Worst-case compressed size of an n-byte block. */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function checkBlockInput(len: number, limit: number, what: string): void {
  if (len > limit) throw new CoreInputTooLargeError(what, len, limit);
}

/** Compresses the first `len` bytes of the IN arena into the OUT arena; returns the compressed size. */
export function lz4CompressInArena(len: number, options?: Lz4CompressOptions, core: CoreInstance = loadCore()): number {
  checkBlockInput(len, Math.min(core.inSize, LZ4_MAX_BLOCK), 'LZ4 block input');
  return core.exports.lz4Compress(core.inPtr, len, core.outPtr, core.outSize, options?.acceleration ?? 1);
}

/**
 * Compresses `src` (at most 4 MiB) into `dst`; returns the compressed size, or 0 when it does not fit in `dst`
 * (never when dst.length >= lz4CompressBound(src.length)).
 */
export function lz4CompressBlockInto(
  src: Uint8Array,
  dst: Uint8Array,
  options?: Lz4CompressOptions,
  core: CoreInstance = loadCore(),
): number {
  checkBlockInput(src.length, Math.min(core.inSize, LZ4_MAX_BLOCK), 'LZ4 block input');
  core.input().set(src);
  const cap = Math.min(dst.length, core.outSize);
  const n = core.exports.lz4Compress(core.inPtr, src.length, core.outPtr, cap, options?.acceleration ?? 1);
  if (n > 0) dst.set(core.output().subarray(0, n));
  return n;
}

/** Compresses `src` (at most 4 MiB) into a new array of exactly the compressed size. */
export function lz4CompressBlock(
  src: Uint8Array,
  options?: Lz4CompressOptions,
  core: CoreInstance = loadCore(),
): Uint8Array {
  const n = lz4CompressInArenaFrom(src, options, core);
  return core.output().slice(0, n);
}

function lz4CompressInArenaFrom(src: Uint8Array, options: Lz4CompressOptions | undefined, core: CoreInstance): number {
  checkBlockInput(src.length, Math.min(core.inSize, LZ4_MAX_BLOCK), 'LZ4 block input');
  core.input().set(src);
  return core.exports.lz4Compress(core.inPtr, src.length, core.outPtr, core.outSize, options?.acceleration ?? 1);
}

/** Throws the error for a negative core result. */
export function throwLz4Error(code: number, cap: number): never {
  if (code === -2) throw new Lz4OutputTooSmallError(`LZ4 block decodes to more than ${cap} bytes`);
  if (code === -3) throw new Lz4MalformedError('LZ4 block has a match offset of 0 or before the start of the data');
  throw new Lz4MalformedError('LZ4 block is truncated or malformed');
}

/**
 * Decodes the block in the first `len` bytes of the IN arena into the OUT arena (at most `cap` bytes), matches
 * may reach `dictLen` bytes back into the window before OUT. Returns the decoded size; throws on bad input.
 */
export function lz4DecompressInArena(
  len: number,
  cap = LZ4_MAX_BLOCK,
  dictLen = 0,
  core: CoreInstance = loadCore(),
): number {
  checkBlockInput(len, core.inSize, 'LZ4 compressed block');
  cap = Math.min(cap, core.outSize);
  const r = core.exports.lz4Decompress(core.inPtr, len, core.outPtr, cap, Math.min(dictLen, core.windowSize));
  if (r < 0) throwLz4Error(r, cap);
  return r;
}

function loadDict(core: CoreInstance, dict: Uint8Array | undefined): number {
  if (!dict || dict.length === 0) return 0;
  claimWindow(core);
  const d = dict.length > core.windowSize ? dict.subarray(dict.length - core.windowSize) : dict;
  core.memory().set(d, core.outPtr - d.length);
  return d.length;
}

/**
 * Decodes the block `src` into `dst`; returns the decoded size. Bytes of `dst` past that size are untouched.
 * Throws Lz4MalformedError on malformed input and Lz4OutputTooSmallError when it does not fit in `dst`.
 */
export function lz4DecompressBlockInto(
  src: Uint8Array,
  dst: Uint8Array,
  options?: Lz4DecompressOptions,
  core: CoreInstance = loadCore(),
): number {
  checkBlockInput(src.length, core.inSize, 'LZ4 compressed block');
  core.input().set(src);
  const dictLen = loadDict(core, options?.dict);
  const cap = Math.min(dst.length, core.outSize);
  const r = core.exports.lz4Decompress(core.inPtr, src.length, core.outPtr, cap, dictLen);
  if (r < 0) {
    if (r === -2 && dst.length > core.outSize) throw new CoreInputTooLargeError('decoded LZ4 block', dst.length, cap);
    throwLz4Error(r, cap);
  }
  dst.set(core.output().subarray(0, r));
  return r;
}

/** Decodes the block `src`, whose decoded size is at most `maxSize`, into a new array of the exact size. */
export function lz4DecompressBlock(
  src: Uint8Array,
  maxSize: number,
  options?: Lz4DecompressOptions,
  core: CoreInstance = loadCore(),
): Uint8Array {
  checkBlockInput(src.length, core.inSize, 'LZ4 compressed block');
  checkBlockInput(maxSize, core.outSize, 'decoded LZ4 block');
  core.input().set(src);
  const dictLen = loadDict(core, options?.dict);
  const r = core.exports.lz4Decompress(core.inPtr, src.length, core.outPtr, maxSize, dictLen);
  if (r < 0) throwLz4Error(r, maxSize);
  return core.output().slice(0, r);
}
