// The data of the strategy benchmark, as files in a temporary directory (the native twins read files, and both
// sides must see the same bytes): the device-like corpora of bench/core/corpus.ts, written block by block so a
// multi-GiB corpus needs 1 MiB of memory, and the raw state of the simulated devices, as the CLI saves it.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { type DeviceCorpusName, deviceCorpusBlocks, PAGE } from '../core/corpus.ts';
import { q } from './rss.ts';

export type SimProfile = 'gpu' | 'nic';
export const SIM_PROFILES: SimProfile[] = ['gpu', 'nic'];

/** Rounds a byte count up to whole pages, as corpora and simulated devices are made of them. */
export function wholePages(bytes: number): number {
  return Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE);
}

export function writeCorpusFile(name: DeviceCorpusName, size: number, path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const block of deviceCorpusBlocks(name, size)) {
      for (let at = 0; at < block.length; ) at += writeSync(fd, block, at);
    }
  } finally {
    closeSync(fd);
  }
}

/** The device spec both ends use: no dirtying, so a save is a stop-and-copy of a fixed state. */
export function simSpec(profile: SimProfile, size: number): string {
  return `sim:${profile},size=${size / 1024}k,dirty=0`;
}

/**
 * Writes a simulated device's raw migration data (what its data fd yields, headers included) to `path`: saved by
 * the CLI with lz4 and decoded by the stock `lz4 -d`, which reads the stream's frames. Returns its byte count.
 */
export function dumpSimState(cli: string, profile: SimProfile, size: number, path: string): number {
  execFileSync(
    'bash',
    [
      '-c',
      `set -o pipefail; ${cli} save --device ${simSpec(profile, size)} -o - --codec lz4 --no-progress -q | lz4 -d -c > ${q(path)}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return statSync(path).size;
}
