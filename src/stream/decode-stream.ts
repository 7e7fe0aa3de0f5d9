// The serial reference reader: parses and fully verifies a stream on the calling thread, yielding each frame and,
// for chunks, the verified raw bytes. The pipeline does the same work in parallel; this one is for tools (inspect),
// tests and runtimes without workers.
import { AbortedError } from '../errors.ts';
import { ChunkDecoder } from './chunk-decoder.ts';
import { StreamParser } from './stream-parser.ts';
import type { StreamFrame, StreamLimits } from './stream-types.ts';

export interface DecodeStreamOptions {
  limits?: StreamLimits | undefined;
  signal?: AbortSignal | undefined;
}

/** A frame; chunks carry their verified raw bytes in `data`. */
export type DecodedEvent = StreamFrame & { data?: Uint8Array };

export async function* decodeStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts?: DecodeStreamOptions,
): AsyncGenerator<DecodedEvent> {
  const parser = new StreamParser(opts);
  let decoder: ChunkDecoder | undefined;
  const signal = opts?.signal;
  async function* drain(): AsyncGenerator<DecodedEvent> {
    for (let f = parser.next(); f; f = parser.next()) {
      if (f.type === 'header') decoder = await ChunkDecoder.create(f.header, opts?.limits);
      if (f.type === 'chunk') yield { ...f, data: decoder!.decode(f.chunk) };
      else yield f;
    }
  }
  for await (const piece of source) {
    if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
    parser.push(piece);
    yield* drain();
  }
  parser.end();
}
