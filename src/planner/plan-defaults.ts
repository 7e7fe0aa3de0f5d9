// A plan as a migration's defaults: the stream settings the caller left unset come from the plan's
// recommendation, and the strategy a migration ends up using is looked up in the plan for its prediction.
import { defaultWorkerCount } from '../pipeline/codec-pool.ts';
import { DEFAULT_CDC_SIZE, DEFAULT_CODEC } from '../pipeline/stream-saver.ts';
import type { Codec } from '../stream/index.ts';
import type { Strategy } from './strategy-measure.ts';
import type { DevicesPlan } from './transfer-model.ts';

export interface StreamSettings {
  codec?: Codec | undefined;
  level?: number | undefined;
  chunking?: 'fixed' | 'cdc' | undefined;
  chunkSize?: number | undefined;
  workers?: number | undefined;
}

/**
 * `opts` with every stream setting it leaves undefined taken from `plan`'s recommendation. A level or chunk size
 * only follows the plan where the codec or chunking it belongs to is the plan's too (zstd's level means nothing
 * for a codec the caller chose instead).
 */
export function withPlanDefaults<T extends StreamSettings>(opts: T, plan: DevicesPlan | undefined): T {
  if (!plan) return opts;
  const r = plan.recommendation;
  const codec = opts.codec ?? r.codec;
  const chunking = opts.chunking ?? r.chunking;
  return {
    ...opts,
    codec,
    level: opts.level ?? (codec === r.codec ? r.level : undefined),
    chunking,
    chunkSize: opts.chunkSize ?? (chunking === r.chunking ? r.chunkSize : undefined),
    workers: opts.workers ?? r.workers,
  };
}

/** The strategy a stream with these settings uses, the defaults filled in as the pipeline fills them. */
export function strategyOf(opts: StreamSettings): Strategy {
  const codec = opts.codec ?? DEFAULT_CODEC;
  const chunking = opts.chunking ?? 'fixed';
  return {
    codec,
    level: opts.level ?? (codec === 'zstd' ? 3 : 1),
    chunking,
    chunkSize: opts.chunkSize ?? (chunking === 'cdc' ? DEFAULT_CDC_SIZE : 1 << 20),
    workers: opts.workers ?? defaultWorkerCount(),
  };
}
