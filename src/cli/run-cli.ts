// One run of the command line, in process: picks the command, parses its options (and the common --help, --quiet,
// --verbose), runs it, and turns what it threw into a one-line report and an exit code. Free of top-level await so
// that the library entry can export it and stay loadable by require().
import { UsageError } from '../errors.ts';
import { type CliIo, COMMON_OPTIONS, describeError, parseCommandArgs, toJson } from './command.ts';
import { COMMANDS, findCommand, overview } from './command-table.ts';
import { EXIT } from './exit-status.ts';

/** The version in package.json (two levels up from both src/cli and dist/cli), read when asked for. */
export async function packageVersion(): Promise<string> {
  const url = new URL('../../package.json', import.meta.url);
  const { default: pkg } = (await import(url.href, { with: { type: 'json' } })) as { default: { version: string } };
  return pkg.version;
}

/** Options before a `--` (after it, every word is an argument). */
function optionWords(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return end < 0 ? argv : argv.slice(0, end);
}

/** The closest command name to a mistyped one, when it is close enough to be what was meant. */
function suggestion(name: string): string | undefined {
  const distance = (a: string, b: string) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) {
        row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
      prev = row;
    }
    return prev[b.length]!;
  };
  let best: { name: string; d: number } | undefined;
  for (const c of COMMANDS) {
    const d = distance(name, c.name);
    if (d <= 2 && (!best || d < best.d)) best = { name: c.name, d };
  }
  return best?.name;
}

/**
 * Runs the CLI with `argv` (without node and script) against `io`; resolves with the exit code, never rejects for
 * a failure of the command (those are reported on `io.err`, and as `{"ok":false,...}` with --json).
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(overview());
    return EXIT.USAGE;
  }
  if (name === '--help' || name === '-h') {
    io.out(overview());
    return EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${await packageVersion()}\n`);
    return EXIT.OK;
  }
  const cmd = findCommand(name);
  if (!cmd) {
    const guess = suggestion(name);
    io.err(
      `vfio-migrate: unknown command ${JSON.stringify(name)}${guess ? ` (did you mean ${guess}?)` : ''}\n` +
        `Commands: ${COMMANDS.map((c) => c.name).join(', ')}. Run 'vfio-migrate help' for what each does.\n`,
    );
    return EXIT.USAGE;
  }
  const words = optionWords(rest);
  if (words.includes('--help') || words.includes('-h')) {
    io.out(`${cmd.usage}\n`);
    return EXIT.OK;
  }
  let dataOnStdout = false;
  try {
    const { values, positionals } = parseCommandArgs(
      rest,
      { ...COMMON_OPTIONS, ...cmd.options },
      cmd.positionals !== undefined,
    );
    dataOnStdout = cmd.dataOnStdout?.(values) === true;
    if (values.quiet && values.verbose) throw new UsageError('--quiet and --verbose exclude each other');
    const verbosity = values.quiet ? 'quiet' : values.verbose ? 'verbose' : 'normal';
    return await cmd.run({ values, positionals }, { ...io, verbosity });
  } catch (err) {
    const { report, exitCode } = describeError(err, io.signal);
    // never into a stream on stdout: a reader would take the report for stream bytes
    const reportTo = dataOnStdout ? io.err : io.out;
    if (words.includes('--json')) reportTo(`${toJson({ ok: false, command: cmd.name, error: report })}\n`);
    // The error says where the device was when it failed; finalState, where it ended once the failure was handled.
    const after = typeof report.finalState === 'string' ? ` (device now ${report.finalState})` : '';
    io.err(`vfio-migrate ${cmd.name}: ${report.code}: ${report.message}${after}\n`);
    if (exitCode === EXIT.USAGE) io.err(`Run 'vfio-migrate help ${cmd.name}' for its usage.\n`);
    else if (exitCode === EXIT.INTERNAL && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    return exitCode;
  }
}
