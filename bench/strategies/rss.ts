// Peak RSS of each process, from GNU time (`/usr/bin/time -f %M`, KiB, the kernel's ru_maxrss of the process and the
// children it waited for). Each process of an end is wrapped on its own so a shell pipeline's RSS is per process.
import { existsSync, readFileSync, rmSync } from 'node:fs';

const GNU_TIME = '/usr/bin/time';
export const canMeasureRss = existsSync(GNU_TIME);

/** Single-quotes a word for bash. */
export function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command wrapped so that its peak RSS lands in `file` (unchanged when GNU time is missing). */
export function withRss(command: string, file: string): string {
  return canMeasureRss ? `${GNU_TIME} -f %M -o ${q(file)} ${command}` : command;
}

/** Reads and removes an RSS file: KiB, or null when the process did not get to write it. */
export function readRss(file: string): number | null {
  try {
    const text = readFileSync(file, 'utf8');
    rmSync(file, { force: true });
    // GNU time prefixes "Command exited with non-zero status N" when the process failed: the last line is %M
    const kib = Number(text.trim().split('\n').pop());
    return Number.isFinite(kib) ? kib : null;
  } catch {
    return null;
  }
}
