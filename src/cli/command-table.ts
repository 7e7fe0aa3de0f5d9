// The table of commands: what `vfio-migrate help` lists, what runCli dispatches on, what shell completion is
// generated from.
import type { Command } from './command.ts';
import { completionCommand } from './completion-command.ts';
import { devicesCommand } from './devices-command.ts';
import { fsmCommand } from './fsm-command.ts';
import { helpCommand } from './help-command.ts';
import { inspectCommand } from './inspect-command.ts';
import { loadCommand } from './load-command.ts';
import { migrateCommand } from './migrate-command.ts';
import { planCommand } from './plan-command.ts';
import { receiveCommand } from './receive-command.ts';
import { recoverCommand, resetCommand } from './reset-command.ts';
import { saveCommand } from './save-command.ts';
import { sendCommand } from './send-command.ts';
import { simCommand } from './sim-command.ts';

export const COMMANDS: readonly Command[] = [
  fsmCommand,
  simCommand,
  devicesCommand,
  saveCommand,
  loadCommand,
  inspectCommand,
  planCommand,
  migrateCommand,
  sendCommand,
  receiveCommand,
  recoverCommand,
  resetCommand,
  completionCommand(() => COMMANDS),
  helpCommand(
    () => COMMANDS,
    () => overview(),
  ),
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** `vfio-migrate` alone, or `help`: the commands and where to read more. */
export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: vfio-migrate COMMAND [options]',
    '',
    'VFIO device migration (Linux migration protocol v2): state machine, devices, save/load/inspect, live migration.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'every command: -h/--help its usage, -q/--quiet only the result and errors, -v/--verbose also what was decided',
    "Run 'vfio-migrate help COMMAND' for a command's options. Most commands take --json.",
    '',
  ].join('\n');
}
