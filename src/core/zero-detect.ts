// Zero detection over the WebAssembly core. Data is copied into the IN arena in 64 KiB pieces and checked piece by
// piece, so a non-zero chunk usually stops after the first piece (the copy is the dominant cost, and it stays in
// cache for the scan). A few sampled bytes are checked on the JS side first: random data never reaches wasm.
import { CoreInputTooLargeError, UsageError } from '../errors.ts';
import { type CoreInstance, loadCore } from './wasm-module.ts';

export const PAGE_SIZE = 4096;
const PIECE = 64 << 10;

/** True when every byte of `data` is zero. */
export function isZeroChunk(data: Uint8Array, core: CoreInstance = loadCore()): boolean {
  const n = data.length;
  if (n === 0) return true;
  if (data[0] !== 0 || data[n - 1] !== 0 || data[n >>> 1] !== 0) return false;
  const input = core.input();
  const isZero = core.exports.isZero;
  for (let off = 0; off < n; off += PIECE) {
    const len = Math.min(PIECE, n - off);
    input.set(data.subarray(off, off + len));
    if (isZero(core.inPtr, len) === 0) return false;
  }
  return true;
}

/** True when the first `len` bytes of the IN arena (filled by the caller) are all zero. */
export function isZeroInArena(len: number, core: CoreInstance = loadCore()): boolean {
  if (!(len >= 0 && len <= core.inSize)) throw new CoreInputTooLargeError('arena input', len, core.inSize);
  return core.exports.isZero(core.inPtr, len) !== 0;
}

/**
 * Marks each `pageSize` page of `data` (the last one may be short): `map[i]` = 1 when page i is all zero, else 0.
 * `map` must hold ceil(data.length / pageSize) bytes; it is allocated when omitted. Returns the number of zero
 * pages. pageSize must be a power of two from 64 bytes to 4 MiB.
 */
export function zeroPageMap(
  data: Uint8Array,
  map?: Uint8Array,
  pageSize = PAGE_SIZE,
  core: CoreInstance = loadCore(),
): { map: Uint8Array; zeroPages: number } {
  if (!(pageSize >= 64 && pageSize <= core.inSize && (pageSize & (pageSize - 1)) === 0)) {
    throw new UsageError(`page size ${pageSize} must be a power of two between 64 and ${core.inSize}`);
  }
  const pages = Math.ceil(data.length / pageSize);
  const out = map ?? new Uint8Array(pages);
  if (out.length < pages) throw new UsageError(`page map of ${out.length} bytes cannot hold ${pages} pages`);
  const input = core.input();
  const output = core.output();
  // pieces are whole pages and the output arena holds one byte per page of a piece
  const piece = Math.max(pageSize, PIECE);
  let zeros = 0;
  for (let off = 0, page = 0; off < data.length; off += piece) {
    const len = Math.min(piece, data.length - off);
    input.set(data.subarray(off, off + len));
    zeros += core.exports.zeroPages(core.inPtr, len, pageSize, core.outPtr);
    const n = Math.ceil(len / pageSize);
    out.set(output.subarray(0, n), page);
    page += n;
  }
  return { map: out, zeroPages: zeros };
}
