// What --verbose adds to a save or load: what the pipeline decided (codec threads, byte budget, chunking), which
// implementation did the work (the wasm core's build, zstd's backend), and the stream it wrote or read.
import { loadCore } from '../core/index.ts';
import type { MigrationDevice } from '../device/migration-device.ts';
import { flagNames, stateName } from '../fsm/index.ts';
import type { TransferStats } from '../pipeline/transfer-stats.ts';
import { type StreamHeader, zstdBackend } from '../stream/index.ts';
import { formatBytes } from './progress-render.ts';

export interface VerboseFacts extends TransferStats {
  header: StreamHeader;
  sections: readonly unknown[];
}

/** Lines for stderr, each starting `vfio-migrate:`. */
export async function pipelineReport(result: VerboseFacts, device: MigrationDevice): Promise<string> {
  const h = result.header;
  const chunking =
    h.chunking.mode === 'fixed'
      ? `fixed ${formatBytes(h.chunking.size)} chunks`
      : `content-defined chunks (${formatBytes(h.chunking.min)}..${formatBytes(h.chunking.max)}, ` +
        `average ${formatBytes(h.chunking.size)})`;
  const threads =
    result.workers === 0 ? 'no codec threads (encoded on the main thread)' : `${result.workers} codec threads`;
  const codec =
    h.codec === 'zstd'
      ? `zstd level ${h.level} from ${await zstdBackend()}`
      : h.codec === 'lz4'
        ? `lz4 level ${h.level} on the wasm core`
        : 'none (chunks stored)';
  const lines = [
    `device ${device.id}: migration flags ${flagNames(device.flags).join(',')}, now ${stateName(device.state)}`,
    `pipeline: ${threads}, byte budget ${formatBytes(result.budget)} (peak ${formatBytes(result.peakInFlight)} ` +
      `in flight), ${chunking}`,
    `codec: ${codec}; checksums and zero detection on the wasm core (${loadCore().flavor} build)`,
    `stream: ${result.sections.length} section(s), ${formatBytes(result.wireBytes)} for ${formatBytes(result.bytes)}`,
  ];
  return lines.map((l) => `vfio-migrate: ${l}\n`).join('');
}
