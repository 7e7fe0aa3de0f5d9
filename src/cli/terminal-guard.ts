// Binary migration data and a terminal do not mix: `save -o -` refuses a terminal on stdout (it would fill the screen
// with binary and can leave the terminal in a strange state) and `load -i -` one on stdin (it would wait for a
// stream typed at the keyboard), as zstd and gzip do, unless --force-tty says it is meant.
import { UsageError } from '../errors.ts';
import type { TransportSpec } from '../transport/transport-spec.ts';
import type { CliIo } from './command.ts';

export function refuseTerminal(spec: TransportSpec, io: CliIo, command: 'save' | 'load', forced?: boolean): void {
  if (spec.kind !== 'stdio' || forced) return;
  if (command === 'save' && io.outIsTTY) {
    throw new UsageError(
      'refusing to write a binary stream to a terminal: redirect stdout (-o - > FILE, or into a pipe), name a file ' +
        'with -o, or add --force-tty',
    );
  }
  if (command === 'load' && io.inIsTTY) {
    throw new UsageError(
      'refusing to read a stream from a terminal: redirect stdin (-i - < FILE, or from a pipe), name a file with -i, ' +
        'or add --force-tty',
    );
  }
}
