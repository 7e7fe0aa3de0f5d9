// The public API of vfio-migrate.

export { runCli } from './cli/main.ts';
export { MigrationDevice, type TransitionResult } from './device/migration-device.ts';
export { DEFAULT_DEVICE, type OpenDeviceOptions, openDevice } from './device/open-device.ts';
export {
  type DataSession,
  type DeviceBackend,
  type OperationOptions,
  type PrecopyInfo,
  READ_DRAINED,
  READ_END,
  type ResumingSession,
  type SavingSession,
} from './device/types.ts';
export * from './errors.ts';
export * from './fsm/index.ts';
