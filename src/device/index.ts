// The device layer's public surface: the interface every layer above programs against, the device wrapper, device
// sets, and the simulated devices.
export {
  DeviceSet,
  type SetArcRecord,
  type SetMove,
  type SetPhase,
  type SetPhasePlan,
  type SetTransitionOptions,
  type SetTransitionResult,
} from './device-set.ts';
export { type ArcRecord, MigrationDevice, type TransitionResult } from './migration-device.ts';
export { DEFAULT_DEVICE, type OpenDeviceOptions, openDevice } from './open-device.ts';
export { openSimBackend } from './sim/open-sim.ts';
export { SIM_PROFILES, type SimProfile } from './sim/profiles.ts';
export { SimBackend } from './sim/sim-backend.ts';
export type { SimStats } from './sim/sim-protocol.ts';
export {
  formatSimSpec,
  formatSize,
  parseSimSpec,
  parseSize,
  SIM_SPEC_KEYS,
  type SimConfig,
  type SimFaults,
} from './sim/sim-spec.ts';
export {
  type DataSession,
  type DeviceBackend,
  type OperationOptions,
  type PrecopyInfo,
  READ_DRAINED,
  READ_END,
  type ResumingSession,
  type SavingSession,
} from './types.ts';
