// The public API of vfio-migrate: the state machine, devices, the stream format, the pipeline, transports, the
// WebAssembly core, the in-process CLI (runCli), and every error class. Free of top-level await, so require() loads it.
export { runCli } from './cli/run-cli.ts';
export * from './core/index.ts';
export * from './device/index.ts';
export * from './errors.ts';
export * from './fsm/index.ts';
export * from './migration/index.ts';
export * from './pipeline/index.ts';
export * from './planner/index.ts';
export * from './stream/index.ts';
export * from './transport/index.ts';
