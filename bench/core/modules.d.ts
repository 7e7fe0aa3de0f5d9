// Minimal types for the untyped benchmark dependency (only what bench/ uses).
declare module 'benchmark' {
  interface Stats {
    mean: number;
    rme: number;
    sample: number[];
  }
  interface Bench {
    name: string;
    hz: number;
    stats: Stats;
    error?: Error;
  }
  interface Options {
    maxTime?: number;
    minSamples?: number;
    initCount?: number;
  }
  class Suite {
    constructor(name?: string);
    add(name: string, fn: () => void, options?: Options): this;
    on(event: 'cycle', listener: (event: { target: Bench }) => void): this;
    run(options?: { async?: boolean }): this;
  }
  const Benchmark: { Suite: typeof Suite };
  export default Benchmark;
}
