// `vfio-migrate completion bash|zsh|fish`: prints the shell's completion script, generated from the command table.
import { UsageError } from '../errors.ts';
import { type Command, defineCommand } from './command.ts';
import { completionScript, SHELLS, type Shell } from './shell-completion.ts';

/** `commands` is read when the command runs: the table that holds this command is built first. */
export function completionCommand(commands: () => readonly Command[]): Command {
  return defineCommand({
    name: 'completion',
    summary: 'print a shell completion script (bash, zsh or fish)',
    usage: `usage: vfio-migrate completion bash|zsh|fish

Prints the completion script for the shell: commands, options, and the values they take (codecs, states, device
kinds, files). Load it in the current shell, or install it where the shell looks:

  bash  source <(vfio-migrate completion bash)      ~/.local/share/bash-completion/completions/vfio-migrate
  zsh   source <(vfio-migrate completion zsh)       a file named _vfio-migrate in a directory of $fpath
  fish  vfio-migrate completion fish | source       ~/.config/fish/completions/vfio-migrate.fish`,
    options: {},
    positionals: [SHELLS],
    async run({ positionals }, io) {
      const [shell, extra] = positionals;
      if (shell === undefined) throw new UsageError('completion needs a shell: bash, zsh or fish');
      if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw new UsageError(`no completion for ${JSON.stringify(shell)}: expected bash, zsh or fish`);
      }
      io.out(completionScript(shell as Shell, commands()));
      return 0;
    },
  });
}
