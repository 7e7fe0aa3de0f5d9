// zstd from the runtime: node:zlib where it has zstd (Node >= 22.15/23.8, Deno 2), else the emscripten build in
// `zstd-codec` (loaded on first need; its initialisation is asynchronous, hence the async factory).
import type * as zlib from 'node:zlib';
import { CodecUnavailableError } from '../errors.ts';
import { sameBytes } from './little-endian.ts';

export type ZstdBackend = 'node:zlib' | 'zstd-codec';

export interface ZstdImplementation {
  readonly backend: ZstdBackend;
  /**
   * One complete zstd frame of `data` (content size and checksum written when the backend can). With `into`, the
   * frame may be written at its start and the result is then a view of it, or null when the frame is longer than
   * `into` (a caller that keeps only frames below some size passes that room); otherwise a new array.
   */
  compress(data: Uint8Array, level: number, into?: Uint8Array): Uint8Array | null;
  /**
   * The content of one frame whose content is exactly `rawLength` bytes; throws when it is not (or on damage). With
   * `into` (at least `rawLength` long) the content is written there and the result views it.
   */
  decompress(frame: Uint8Array, rawLength: number, into?: Uint8Array): Uint8Array;
}

type ZlibWithZstd = typeof zlib & {
  zstdCompressSync?: (data: Uint8Array, opts: { params: Record<number, number> }) => Uint8Array;
  zstdDecompressSync?: (data: Uint8Array, opts: { maxOutputLength: number; chunkSize: number }) => Uint8Array;
};

interface ZstdCodecSimple {
  compress(data: Uint8Array, level: number): Uint8Array | null;
  decompress(data: Uint8Array): Uint8Array | null;
}

/** What node:zlib's stream objects have under their public API (Node's and Deno's alike), used when present. */
interface ZlibEngine {
  _handle?: {
    writeSync(
      flush: number,
      input: Uint8Array,
      inOff: number,
      inLen: number,
      out: Uint8Array,
      outOff: number,
      outLen: number,
    ): void;
    reset(): void;
  } | null;
  _writeState?: Uint32Array;
  errored?: unknown;
  on(event: 'error', listener: () => void): unknown;
  close(): void;
}

/**
 * One zstd context per thread and direction (per level for compression), reused frame after frame, writing straight
 * into the caller's buffer. node:zlib's one-shot calls create a context per frame (megabytes of tables allocated and
 * page-faulted each time) and return output in 16 KiB pieces joined by a copy; a thread compressing 1 MiB chunks
 * spent more time collecting that garbage than compressing (incompressible data: 6x the time; 256 MiB through two
 * threads, 217 of 780 ms in GC per thread). The one-shot calls stay the fallback, and the way errors are reported.
 */
class ReusedZstdContext {
  readonly #engine: ZlibEngine;
  readonly #flush: number;
  #broken = false;

  constructor(engine: ZlibEngine, flush: number) {
    this.#engine = engine;
    this.#flush = flush;
    // a failed call destroys the stream object, which then emits 'error': it is read from `errored` instead
    engine.on('error', () => {});
  }

  /** A context when this runtime's stream objects expose what it needs; undefined otherwise. */
  static over(make: () => ZlibEngine, flush: number): ReusedZstdContext | undefined {
    try {
      const engine = make();
      if (typeof engine._handle?.writeSync !== 'function' || !(engine._writeState instanceof Uint32Array)) {
        engine.close();
        return undefined;
      }
      return new ReusedZstdContext(engine, flush);
    } catch {
      return undefined;
    }
  }

  get usable(): boolean {
    return !this.#broken;
  }

  /**
   * Runs `input` through the context into `out[at, at + cap)`; returns the bytes written and the input left, or null
   * when the context failed (it is closed and not used again). Callers reset() it before the next frame.
   */
  run(input: Uint8Array, out: Uint8Array, at: number, cap: number): { written: number; inputLeft: number } | null {
    const e = this.#engine;
    const handle = e._handle;
    if (this.#broken || !handle) return null;
    try {
      handle.writeSync(this.#flush, input, 0, input.length, out, at, cap);
    } catch {
      return this.#break();
    }
    if (e.errored || !e._handle) return this.#break();
    const state = e._writeState as Uint32Array;
    return { written: cap - state[0]!, inputLeft: state[1]! };
  }

  reset(): void {
    try {
      this.#engine._handle?.reset();
    } catch {
      this.#break();
    }
  }

  /** Marks the context unusable and frees its native state now (a damaged frame must not hold memory until a GC). */
  #break(): null {
    this.#broken = true;
    try {
      this.#engine.close();
    } catch {
      // already closed by the failure
    }
    return null;
  }
}

function nativeZstd(): ZstdImplementation | undefined {
  // loaded when zstd is first asked for: node:zlib costs a few milliseconds of start-up that lz4 and none need not pay
  const z = process.getBuiltinModule('node:zlib') as ZlibWithZstd;
  const compressSync = z.zstdCompressSync;
  const decompressSync = z.zstdDecompressSync;
  const c = z.constants as Record<string, number | undefined>;
  const LEVEL = c.ZSTD_c_compressionLevel;
  const CHECKSUM = c.ZSTD_c_checksumFlag;
  const CONTENT_SIZE = c.ZSTD_c_contentSizeFlag;
  const END = c.ZSTD_e_end;
  if (!compressSync || !decompressSync || LEVEL === undefined || CHECKSUM === undefined) return undefined;
  const paramsFor = (level: number) => {
    const params: Record<number, number> = { [LEVEL]: level, [CHECKSUM]: 1 };
    if (CONTENT_SIZE !== undefined) params[CONTENT_SIZE] = 1;
    return params;
  };
  const Compress = (z as unknown as { ZstdCompress?: new (o: object) => ZlibEngine }).ZstdCompress;
  const Decompress = (z as unknown as { ZstdDecompress?: new (o: object) => ZlibEngine }).ZstdDecompress;
  const oneShotCompress = (data: Uint8Array, level: number) => compressSync(data, { params: paramsFor(level) });
  const oneShotDecompress = (frame: Uint8Array, rawLength: number) => {
    // maxOutputLength bounds the allocation whatever the frame claims; an output buffer of the frame's size has zstd
    // write the content once, where the default 16 KiB pieces were each allocated, then joined in a copy
    const out = decompressSync(frame, { maxOutputLength: Math.max(1, rawLength), chunkSize: Math.max(64, rawLength) });
    if (out.length !== rawLength) throw new RangeError(`frame decodes to ${out.length} bytes, not ${rawLength}`);
    return out;
  };

  // A context that failed (a damaged frame destroys its stream object) is replaced; the first context of each
  // direction must agree with the one-shot calls on a sample, or the reuse is off for the thread.
  // VFIO_MIGRATE_ZSTD_REUSE=0: the one-shot calls only (should a runtime's internals ever misbehave unnoticed)
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  let reuse =
    env?.VFIO_MIGRATE_ZSTD_REUSE !== '0' && END !== undefined && Compress !== undefined && Decompress !== undefined;
  const compressors = new Map<number, ReusedZstdContext>();
  let decompressor: ReusedZstdContext | undefined;
  const checked = { compress: false, decompress: false };
  const compressorFor = (level: number): ReusedZstdContext | undefined => {
    let ctx = compressors.get(level);
    if (reuse && !ctx?.usable) {
      ctx = ReusedZstdContext.over(() => new Compress!({ params: paramsFor(level) }), END!);
      if (ctx && !checked.compress) checked.compress = compressorAgrees(ctx);
      if (ctx && checked.compress) compressors.set(level, ctx);
      else reuse = false;
    }
    return reuse ? ctx : undefined;
  };
  const decompressorNow = (): ReusedZstdContext | undefined => {
    if (reuse && !decompressor?.usable) {
      decompressor = ReusedZstdContext.over(() => new Decompress!({}), END!);
      if (decompressor && !checked.decompress) checked.decompress = decompressorAgrees(decompressor);
      if (!decompressor || !checked.decompress) reuse = false;
    }
    return reuse ? decompressor : undefined;
  };

  const sample = (): Uint8Array => {
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) ^ (i >> 5);
    return bytes;
  };
  function compressorAgrees(ctx: ReusedZstdContext): boolean {
    const raw = sample();
    const out = new Uint8Array(raw.length + 512);
    const r = ctx.run(raw, out, 0, out.length);
    ctx.reset();
    if (r?.inputLeft !== 0 || r.written === out.length) return false;
    try {
      return sameBytes(oneShotDecompress(out.subarray(0, r.written), raw.length), raw);
    } catch {
      return false;
    }
  }
  function decompressorAgrees(ctx: ReusedZstdContext): boolean {
    const raw = sample();
    const out = new Uint8Array(raw.length);
    const r = ctx.run(oneShotCompress(raw, 1), out, 0, out.length);
    ctx.reset();
    return r !== null && r.inputLeft === 0 && r.written === raw.length && sameBytes(out, raw);
  }

  /** Decodes `frame` through `ctx` into `out`: null when the context failed (the one-shot call then tells why). */
  function decodeReusing(ctx: ReusedZstdContext, frame: Uint8Array, out: Uint8Array, n: number): Uint8Array | null {
    try {
      const r = ctx.run(frame, out, 0, n);
      if (!r) return null;
      let left = r.inputLeft;
      if (r.written === n && left > 0) {
        // output full with input left: whatever still decodes is content beyond n
        const tail = ctx.run(frame.subarray(frame.length - left), scratch, 0, scratch.length);
        if (!tail) return null;
        if (tail.written > 0) throw new RangeError(`frame decodes to more than ${n} bytes`);
        left = tail.inputLeft;
      }
      if (r.written !== n) throw new RangeError(`frame decodes to ${r.written} bytes, not ${n}`);
      if (left !== 0) throw new RangeError(`${left} bytes follow the frame's end`);
      return out.subarray(0, n);
    } finally {
      ctx.reset();
    }
  }
  const scratch = new Uint8Array(64);

  return {
    backend: 'node:zlib',
    compress(data, level, into) {
      const ctx = into ? compressorFor(level) : undefined;
      if (ctx && into) {
        const r = ctx.run(data, into, 0, into.length);
        ctx.reset();
        if (r) return r.inputLeft === 0 && r.written < into.length ? into.subarray(0, r.written) : null;
        // a failed context: the one-shot call reports why, or compresses
      }
      return oneShotCompress(data, level);
    },
    decompress(frame, rawLength, into) {
      const ctx = decompressorNow();
      const out = ctx ? decodeReusing(ctx, frame, into ?? new Uint8Array(rawLength), rawLength) : null;
      if (out) return out;
      const fresh = oneShotDecompress(frame, rawLength);
      if (!into) return fresh;
      into.set(fresh);
      return into.subarray(0, rawLength);
    },
  };
}

async function codecZstd(): Promise<ZstdImplementation> {
  let simple: ZstdCodecSimple;
  try {
    // a computed specifier: the package is CommonJS without type declarations, and only needed as a fallback
    const specifier = 'zstd-codec';
    const mod = (await import(specifier)) as {
      ZstdCodec?: { run(cb: (z: { Simple: new () => ZstdCodecSimple }) => void): void };
      default?: { ZstdCodec: { run(cb: (z: { Simple: new () => ZstdCodecSimple }) => void): void } };
    };
    const codec = mod.ZstdCodec ?? mod.default?.ZstdCodec;
    if (!codec) throw new Error('zstd-codec has no ZstdCodec export');
    simple = await new Promise<ZstdCodecSimple>((resolve) => codec.run((z) => resolve(new z.Simple())));
  } catch (cause) {
    throw new CodecUnavailableError('this runtime has no zstd in node:zlib and zstd-codec could not be loaded', {
      cause,
    });
  }
  return {
    backend: 'zstd-codec',
    compress(data, level) {
      const out = simple.compress(data, level);
      if (!out) throw new RangeError('zstd-codec failed to compress');
      return out;
    },
    decompress(frame, rawLength, into) {
      // callers check the frame's content size against rawLength first: zstd-codec allocates what the frame says
      const out = simple.decompress(frame);
      if (!out || out.length !== rawLength) throw new RangeError('zstd-codec could not decode the frame');
      if (!into) return out;
      into.set(out);
      return into.subarray(0, rawLength);
    },
  };
}

let chosen: Promise<ZstdImplementation> | undefined;

/**
 * The zstd implementation of this runtime (cached). `VFIO_MIGRATE_ZSTD=zstd-codec` forces the fallback;
 * `VFIO_MIGRATE_ZSTD_REUSE=0` keeps node:zlib but without the reused contexts.
 */
export function loadZstd(): Promise<ZstdImplementation> {
  if (!chosen) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const native = env?.VFIO_MIGRATE_ZSTD === 'zstd-codec' ? undefined : nativeZstd();
    chosen = native ? Promise.resolve(native) : codecZstd();
    chosen.catch(() => {
      chosen = undefined;
    });
  }
  return chosen;
}

/** Which zstd implementation this runtime uses. */
export async function zstdBackend(): Promise<ZstdBackend> {
  return (await loadZstd()).backend;
}
