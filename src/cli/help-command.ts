// `vfio-migrate help [COMMAND]`: the command list, or one command's usage.
import { UsageError } from '../errors.ts';
import { type Command, defineCommand } from './command.ts';

/** `commands` and `overview` are read when the command runs: the table that holds this command is built first. */
export function helpCommand(commands: () => readonly Command[], overview: () => string): Command {
  return defineCommand({
    name: 'help',
    summary: "the command list, or one command's usage",
    usage: `usage: vfio-migrate help [COMMAND]

Without COMMAND, lists the commands; with it, prints that command's usage (as 'vfio-migrate COMMAND --help').`,
    options: {},
    positionals: ['command'],
    async run({ positionals }, io) {
      const [topic, extra] = positionals;
      if (extra !== undefined) throw new UsageError(`help takes one COMMAND, not also ${JSON.stringify(extra)}`);
      if (topic === undefined) {
        io.out(overview());
        return 0;
      }
      const cmd = commands().find((c) => c.name === topic);
      if (!cmd) throw new UsageError(`no command ${JSON.stringify(topic)}; 'vfio-migrate help' lists them`);
      io.out(`${cmd.usage}\n`);
      return 0;
    },
  });
}
