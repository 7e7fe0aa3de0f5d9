// zstd from the runtime: node:zlib where it has zstd (Node >= 22.15/23.8, Deno 2), else the emscripten build in
// `zstd-codec` (loaded on first need; its initialisation is asynchronous, hence the async factory).
import type * as zlib from 'node:zlib';
import { CodecUnavailableError } from '../errors.ts';

export type ZstdBackend = 'node:zlib' | 'zstd-codec';

export interface ZstdImplementation {
  readonly backend: ZstdBackend;
  /** One complete zstd frame of `data` (content size written when the backend can). */
  compress(data: Uint8Array, level: number): Uint8Array;
  /** The content of one frame whose content is exactly `rawLength` bytes; throws when it is not (or on damage). */
  decompress(frame: Uint8Array, rawLength: number): Uint8Array;
}

type ZlibWithZstd = typeof zlib & {
  zstdCompressSync?: (data: Uint8Array, opts: { params: Record<number, number> }) => Uint8Array;
  zstdDecompressSync?: (data: Uint8Array, opts: { maxOutputLength: number; chunkSize: number }) => Uint8Array;
};

interface ZstdCodecSimple {
  compress(data: Uint8Array, level: number): Uint8Array | null;
  decompress(data: Uint8Array): Uint8Array | null;
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
  if (!compressSync || !decompressSync || LEVEL === undefined || CHECKSUM === undefined) return undefined;
  return {
    backend: 'node:zlib',
    compress(data, level) {
      const params: Record<number, number> = { [LEVEL]: level, [CHECKSUM]: 1 };
      if (CONTENT_SIZE !== undefined) params[CONTENT_SIZE] = 1;
      return compressSync(data, { params });
    },
    decompress(frame, rawLength) {
      // maxOutputLength bounds the allocation whatever the frame claims; an output buffer of the frame's size has zstd
      // write the content once, where the default 16 KiB pieces were each allocated, then joined in a copy
      const out = decompressSync(frame, {
        maxOutputLength: Math.max(1, rawLength),
        chunkSize: Math.max(64, rawLength),
      });
      if (out.length !== rawLength) throw new RangeError(`frame decodes to ${out.length} bytes, not ${rawLength}`);
      return out;
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
    decompress(frame, rawLength) {
      // callers check the frame's content size against rawLength first: zstd-codec allocates what the frame says
      const out = simple.decompress(frame);
      if (!out || out.length !== rawLength) throw new RangeError('zstd-codec could not decode the frame');
      return out;
    },
  };
}

let chosen: Promise<ZstdImplementation> | undefined;

/** The zstd implementation of this runtime (cached). `VFIO_MIGRATE_ZSTD=zstd-codec` forces the fallback. */
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
