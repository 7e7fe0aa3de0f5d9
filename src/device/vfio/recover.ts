// A device found outside RUNNING (a previous user died mid-migration: device state outlives the fd) is brought back.
// Saving and stopped states step back to RUNNING through the kernel's arcs. RESUMING and ERROR are only ever reset:
// a resume that failed cannot be stepped out of, and some drivers (the mtty sample in 6.12) dereference a freed
// resuming file when a reopened device in RESUMING is asked for any state.
import { ArcFailedError, VfioMigrateError } from '../../errors.ts';
import { DeviceState, type StateName, stateName } from '../../fsm/index.ts';
import type { MigrationDevice } from '../migration-device.ts';
import type { OperationOptions } from '../types.ts';

export type RecoveryAction = 'none' | 'step' | 'reset';

export interface RecoveryPlan {
  state: StateName;
  action: RecoveryAction;
  reason: string;
}

/** What `recover` does for a device found in `state`. */
export function planRecovery(state: DeviceState): RecoveryPlan {
  const name = stateName(state);
  switch (state) {
    case DeviceState.RUNNING:
      return { state: name, action: 'none', reason: 'the device is running' };
    case DeviceState.RESUMING:
      return {
        state: name,
        action: 'reset',
        reason: 'a device left in RESUMING holds a partial or refused state; only a reset leaves it safely',
      };
    case DeviceState.ERROR:
      return { state: name, action: 'reset', reason: 'a device in ERROR accepts nothing but a reset' };
    default:
      return {
        state: name,
        action: 'step',
        reason: `a device left in ${name} (a migration that did not finish) steps back to RUNNING`,
      };
  }
}

/** One sentence for listings: what is wrong and the command that fixes it; null when RUNNING. */
export function leftoverAdvice(state: DeviceState, spec: string): string | null {
  const plan = planRecovery(state);
  if (plan.action === 'none') return null;
  return `left in ${plan.state} by an earlier user: 'vfio-migrate recover --device ${spec}' will ${
    plan.action === 'reset' ? 'reset it' : 'step it back to RUNNING'
  }`;
}

export interface RecoveryResult {
  /** The state found. */
  from: StateName;
  action: RecoveryAction;
  /** States stepped through (step), or [] (reset/none). */
  path: StateName[];
  /** The state now (RUNNING on success). */
  state: StateName;
  reason: string;
  /** When stepping failed and a reset finished the job: why stepping failed. */
  steppingFailed?: { code: string; message: string } | undefined;
}

/** Brings `device` back to RUNNING per planRecovery, falling back to a reset when a step fails outside RESUMING. */
export async function recoverDevice(device: MigrationDevice, opts: OperationOptions = {}): Promise<RecoveryResult> {
  const found = await device.refreshState(opts);
  const plan = planRecovery(found);
  const base = { from: plan.state, reason: plan.reason };
  if (plan.action === 'none') return { ...base, action: 'none', path: [], state: plan.state };
  if (plan.action === 'reset') {
    await device.reset(opts);
    return { ...base, action: 'reset', path: [], state: stateName(device.state) };
  }
  try {
    const r = await device.setState(DeviceState.RUNNING, opts);
    return { ...base, action: 'step', path: r.path.map(stateName), state: stateName(r.state) };
  } catch (err) {
    if (!(err instanceof ArcFailedError) || device.state === DeviceState.RESUMING) throw err;
    await device.reset(opts);
    const failed = err instanceof VfioMigrateError ? { code: err.code, message: err.message } : undefined;
    return { ...base, action: 'reset', path: [], state: stateName(device.state), steppingFailed: failed };
  }
}
