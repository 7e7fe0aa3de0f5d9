// What the CLI starts before it has loaded its commands: the simulated devices' threads its words name. A worker
// thread takes about as long to boot (an isolate, the runtime, the device's modules) as the CLI takes to load; the
// launcher calls this before it imports the CLI's main module, so the two overlap on separate cores. Its own entry
// in the bin's bundle, which shares the device-thread module (and so its spare threads) with the CLI's.
import { spareSimThreads, startSpareSimThreads } from '../device/sim/sim-thread.ts';

/**
 * How many simulated devices the arguments will open, as far as the words tell: `sim:` specs (`migrate` opens each
 * twice, as source and destination, unless `--to` names the destinations; its default is one demo device). A guess
 * only decides how many device threads start early; a wrong one costs a thread's boot or saves less.
 */
export function simDevicesNamed(argv: readonly string[]): number {
  const words = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
  if (words.some((w) => w === '-h' || w === '--help')) return 0;
  const specs = words.filter((w) => /^(?:--[\w-]+=)?sim:/.test(w)).length;
  if (words[0] !== 'migrate') return specs;
  return words.some((w) => w === '--to' || w.startsWith('--to=')) ? specs : 2 * Math.max(specs, 1);
}

let started = false;

/** Starts the device threads `argv` names, once per process (the launcher and main may both ask). */
export function startEarly(argv: readonly string[]): void {
  if (started) return;
  started = true;
  startSpareSimThreads(Math.max(0, simDevicesNamed(argv) - spareSimThreads()));
}
