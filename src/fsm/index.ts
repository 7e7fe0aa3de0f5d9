export { type Arc, type ArcSessionEffect, arcSessionEffect, isSingleArc, singleArcs } from './arcs.ts';
export {
  ACCEPTED_FLAG_SETS,
  flagNames,
  MigrationFlag,
  parseFlags,
  requiredFlags,
  supportsState,
  validateFlags,
} from './flags.ts';
export { type NextStep, nextStep, requirePath, type TransitionPath, transitionPath } from './next-step.ts';
export {
  ALL_STATES,
  DeviceState,
  isDeviceState,
  isPreCopyState,
  isRunningState,
  isSavingState,
  parseState,
  type StateName,
  stateName,
} from './states.ts';
export { type StepOptions, type StepRecord, stepTransition } from './stepper.ts';
export { type TransitionTable, transitionTable } from './table.ts';
