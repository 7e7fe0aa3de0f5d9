// The shapes the strategy benchmark produces: one StrategyResult per strategy (ours next to its native twin on the
// same bytes), and the whole run. Reports and charts are pure functions of these, so they are tested on fixtures.

/** The dimension a strategy varies from the base (lz4, 1 MiB fixed chunks, default workers, a pipe). */
export type Group = 'codec' | 'level' | 'chunk-size' | 'chunking' | 'workers' | 'transport' | 'device' | 'floor';

export const GROUPS: Group[] = ['codec', 'level', 'chunk-size', 'chunking', 'workers', 'transport', 'device', 'floor'];

/** One side of a strategy: ours, or its native twin. */
export interface SideResult {
  /** What ran, for people: `vfio-migrate lz4` or `lz4 -1 | lz4 -d`. */
  name: string;
  /** Wall seconds of each repetition on the data, both ends from start to exit. */
  seconds: number[];
  /** Wall seconds of each repetition on a 4 KiB input: process start-up and teardown, subtracted. */
  startupSeconds: number[];
  /** Peak RSS in KiB of each end (sender, receiver), the largest over repetitions; null where not measured. */
  rssKiB: [number | null, number | null];
  /** Bytes on the wire (the pipe or socket between the ends), where known. */
  wireBytes: number | null;
}

export interface StrategyResult {
  id: string;
  group: Group;
  /** Short label for tables and charts, e.g. `zstd -9` or `tcp`. */
  label: string;
  /** The data: a corpus name or a simulated device profile. */
  data: string;
  /** Raw bytes moved. */
  bytes: number;
  /** Codec threads of ours (workers group, and where set). */
  workers?: number;
  ours: SideResult;
  twin: SideResult;
  /** Set when a side failed; the throughputs are then absent from reports. */
  error?: string;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memMiB: number;
  kernel: string;
  node: string;
  deno: string | null;
  tools: Record<string, string>;
  /** 1-minute load average before and after the run: above ~0.3 per core the machine was not quiet. */
  loadBefore: number;
  loadAfter: number;
}

export interface SuiteResult {
  date: string;
  durationSeconds: number;
  quick: boolean;
  /** Bytes of each corpus and simulated device (some strategies use less, see each result's bytes). */
  size: number;
  /** Bytes of each simulated device. */
  simSize: number;
  reps: number;
  machine: MachineInfo;
  results: StrategyResult[];
}
