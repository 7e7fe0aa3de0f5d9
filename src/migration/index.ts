// Live migration between two ends: source and destination roles over a control connection and one data stream
// per device, pre-copy with a convergence policy, switchover, rollback, and the measured downtime.
export {
  ConvergencePolicy,
  type ConvergenceReason,
  type ConvergenceSettings,
  DEFAULT_CONVERGENCE,
  type DowntimePrediction,
  type FixedCosts,
  predictDowntime,
} from './convergence-policy.ts';
export { describeDevices, deviceIdentity, incompatibilities } from './handshake.ts';
export { LocalMigration, type LocalMigrationOptions, type LocalMigrationResult } from './local-migration.ts';
export { type DestinationMigrationOptions, MigrationDestination } from './migration-destination.ts';
export {
  type MigrationEventMap,
  type MigrationEventType,
  type MigrationPhase,
  type MigrationSide,
  migrationChannel,
} from './migration-events.ts';
export type { LinkOptions } from './migration-link.ts';
export type {
  DowntimeBreakdown,
  MigrationDeviceReport,
  MigrationResult,
  PhaseBytes,
  RoundReport,
} from './migration-result.ts';
export { MigrationSource, type MigrationStreamOptions, type SourceMigrationOptions } from './migration-source.ts';
export { PROTOCOL_VERSION } from './wire.ts';
