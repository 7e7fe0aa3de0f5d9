// The pipelines as async iterables, for callers that pull: `for await (const bytes of encodeToIterable(...))`.
// Each runs the parallel pipeline behind a bounded pipe, so a consumer that stops pulling stops the source; leaving
// the loop early (break, throw) cancels the pipeline and stops its workers.
import { AbortedError } from '../errors.ts';
import { createBytePipe, type SourceLike } from './endpoint-adapters.ts';
import { type LoadOptions, loadStream } from './stream-loader.ts';
import { type SaveOptions, saveStream } from './stream-saver.ts';

function pumpThroughPipe(
  run: (sink: ReturnType<typeof createBytePipe>['sink'], signal: AbortSignal) => Promise<unknown>,
  outer: AbortSignal | undefined,
  capacity: number,
): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const pipe = createBytePipe(capacity);
      const controller = new AbortController();
      const onOuter = () => controller.abort(outer?.reason);
      outer?.addEventListener('abort', onOuter, { once: true });
      const running = run(pipe.sink, controller.signal).then(
        () => pipe.sink.end(),
        (err) => pipe.sink.abort(err),
      );
      const inner = pipe.iterable[Symbol.asyncIterator]();
      return {
        async next() {
          const r = await inner.next();
          if (r.done) outer?.removeEventListener('abort', onOuter);
          return r;
        },
        async return() {
          outer?.removeEventListener('abort', onOuter);
          controller.abort(new AbortedError('the consumer stopped reading'));
          await inner.return?.();
          await running;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/** The encoded stream of `source`, produced by the parallel pipeline (one stop-copy section). */
export function encodeToIterable(source: SourceLike, opts: SaveOptions = {}): AsyncIterable<Uint8Array> {
  return pumpThroughPipe(
    (sink, signal) => saveStream(source, sink, { ...opts, signal }),
    opts.signal,
    opts.budget ?? 4 << 20,
  );
}

/**
 * The verified raw bytes of a stream. Every chunk is checked before it is yielded; the trailer is checked at the
 * end, so the iteration only completes normally for a whole, untampered stream (otherwise its last step throws).
 */
export function decodeToIterable(source: SourceLike, opts: LoadOptions = {}): AsyncIterable<Uint8Array> {
  return pumpThroughPipe(
    (sink, signal) => loadStream(source, sink, { ...opts, signal }),
    opts.signal,
    opts.budget ?? 4 << 20,
  );
}
