// The migration planner: samples devices, measures strategies on this machine, and predicts the best one's
// transfer and stop-and-copy downtime over a link.
export { type DeviceSample, type SampleOptions, sampleDevice } from './device-sample.ts';
export { type StreamSettings, strategyOf, withPlanDefaults } from './plan-defaults.ts';
export {
  type DevicesPlanResult,
  type PlanMeasurement,
  type PlanOptions,
  planDevices,
} from './plan-devices.ts';
export {
  CHUNKINGS,
  ENCODINGS,
  measureStrategy,
  type Strategy,
  type StrategyMeasurement,
  sameStrategy,
  strategyName,
  workerCounts,
} from './strategy-measure.ts';
export {
  type DevicesPlan,
  downtimeOf,
  type PlanInput,
  type PlannedStrategy,
  planMigration,
  predictTransfer,
  predictWithPlan,
  type Stage,
  type StrategyRates,
  type StreamRates,
  type TransferPrediction,
} from './transfer-model.ts';
