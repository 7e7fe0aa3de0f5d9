// The serial reference writer: chunks a byte source (fixed or content-defined), encodes on the calling thread and
// yields the stream's bytes frame by frame. The pipeline does this in parallel; this one is for tools, tests and
// runtimes without workers, and defines what the parallel writer must produce.
import { ContentChunker } from '../core/index.ts';
import { AbortedError } from '../errors.ts';
import { ChunkEncoder } from './chunk-encoder.ts';
import { createStreamHeader } from './header-record.ts';
import type { SectionKind, StreamHeaderInit, StreamTotals } from './stream-types.ts';
import { StreamWriter } from './stream-writer.ts';

export interface EncodeStreamOptions {
  signal?: AbortSignal | undefined;
  /** The section the data forms (default stop-copy: all of a device's final data, or plain data). */
  section?: SectionKind | undefined;
  /** Receives the totals once the trailer is written. */
  onTotals?: ((totals: StreamTotals) => void) | undefined;
}

/** Splits a byte source into chunks per the header's chunking (pieces are copied only to join them). */
async function* chunksOf(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  init: StreamHeaderInit,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const { mode, size, min, max } = init.chunking;
  const cdc = mode === 'cdc' ? new ContentChunker({ minSize: min, avgSize: size, maxSize: max }) : undefined;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let consumed = 0; // stream offset of the first pending byte
  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const first = pending[0]!;
      const k = Math.min(first.length, n - filled);
      out.set(first.subarray(0, k), filled);
      filled += k;
      if (k === first.length) pending.shift();
      else pending[0] = first.subarray(k);
    }
    pendingBytes -= n;
    consumed += n;
    return out;
  };
  const cuts: number[] = [];
  for await (const piece of source) {
    if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
    if (piece.length === 0) continue;
    pending.push(piece);
    pendingBytes += piece.length;
    if (cdc) {
      cuts.length = 0;
      cdc.push(piece, cuts);
      for (const cut of cuts) yield take(cut - consumed);
    } else {
      while (pendingBytes >= size) yield take(size);
    }
  }
  if (pendingBytes > 0) yield take(pendingBytes);
  pending = [];
}

export async function* encodeStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  init: StreamHeaderInit,
  opts?: EncodeStreamOptions,
): AsyncGenerator<Uint8Array> {
  const header = createStreamHeader(init);
  const writer = new StreamWriter(header);
  const encoder = await ChunkEncoder.create(header);
  yield writer.headerBytes();
  yield writer.beginSection(opts?.section ?? 'stop-copy', header.expectedBytes);
  for await (const data of chunksOf(source, init, opts?.signal)) {
    const chunk = encoder.encode(writer.nextSeq, writer.nextRawOffset, data);
    writer.addChunk(chunk);
    yield chunk.bytes;
  }
  const trailer = writer.trailerBytes();
  opts?.onTotals?.(writer.totals());
  yield trailer;
}
