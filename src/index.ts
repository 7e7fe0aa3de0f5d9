// The public API of vfio-migrate: the state machine, devices, the stream format, the pipeline, transports, the
// WebAssembly core, and the CLI entry point, with every error class.
export { runCli } from './cli/main.ts';
export * from './core/index.ts';
export * from './device/index.ts';
export * from './errors.ts';
export * from './fsm/index.ts';
export * from './pipeline/index.ts';
export * from './stream/index.ts';
export * from './transport/index.ts';
