// The whole transition table for a flag set, in the shape `vfio-migrate fsm --json` prints.
import { flagNames } from './flags.ts';
import { transitionPath } from './next-step.ts';
import { ALL_STATES, type StateName, stateName } from './states.ts';

export interface TransitionTable {
  flags: string[];
  /** `FROM>TO` for every ordered pair: states stepped through after FROM ending with TO, or null if refused. */
  paths: Record<string, StateName[] | null>;
}

export function transitionTable(flags: number): TransitionTable {
  const paths: Record<string, StateName[] | null> = {};
  for (const from of ALL_STATES) {
    for (const to of ALL_STATES) {
      const r = transitionPath(flags, from, to);
      paths[`${stateName(from)}>${stateName(to)}`] = r.ok ? r.path.map(stateName) : null;
    }
  }
  return { flags: flagNames(flags), paths };
}
