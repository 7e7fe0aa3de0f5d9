// A CliIo that captures output, for running the CLI in-process in tests.
import type { CliIo } from '../../src/cli/command.ts';
import { runCli } from '../../src/cli/run-cli.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCliCaptured(
  argv: string[],
  opts: { signal?: AbortSignal; env?: Record<string, string> } = {},
): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    errIsTTY: false,
    env: { ...opts.env },
    signal: opts.signal ?? new AbortController().signal,
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}
