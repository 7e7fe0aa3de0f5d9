// How a simulated device's thread is started, and the spare threads a process can start before it knows its devices.
// A worker thread takes about as long to boot (an isolate, the runtime, the device's modules) as the CLI takes to load
// its own modules; started first, the two overlap on separate cores instead of following each other.
import { Worker } from 'node:worker_threads';
import { workerEntryUrl, workerEnv } from '../../worker-entry-url.ts';
import type { SimWorkerData } from './sim-protocol.ts';

const WORKER_URL = workerEntryUrl('sim-worker', import.meta.url);

/**
 * The device thread allocates per page and per read (generated pages, socket buffers): with V8's default young
 * generation, which grows to tens of MiB under that rate, a save's RSS grew with the state's size (sim:gpu lz4 save
 * 188 MB at 256 MiB, 234 MB at 1 GiB). A small one is scavenged often and stays small. A small old generation has V8
 * collect the socket's dead read buffers sooner (a 2 GiB load: lz4 140 -> 130 MB, zstd 161 -> 146 MB); the thread
 * keeps its per-page state in typed arrays, outside the heap, so the heap stays a few MiB whatever the device's size.
 */
const SIM_WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 };

/** What a spare thread is given instead of a device: it waits for an `init` message carrying SimWorkerData. */
export interface SpareWorkerData {
  spare: true;
}

/** The first message to a spare thread: the device it becomes. */
export interface SimInitMessage {
  op: 'init';
  data: SimWorkerData;
}

const spares: Worker[] = [];

/**
 * Starts `count` device threads that wait for their device. They do not keep the process alive, and a device opened
 * later in this process takes one instead of starting its own. For the CLI, which knows from its arguments that it
 * will open simulated devices before it has loaded the code that opens them.
 */
export function startSpareSimThreads(count: number): void {
  for (let i = 0; i < count; i++) {
    const worker = new Worker(WORKER_URL, {
      workerData: { spare: true } satisfies SpareWorkerData,
      resourceLimits: SIM_WORKER_LIMITS,
      env: workerEnv(),
    });
    worker.unref();
    // A spare that dies unused is simply not taken; its failure belongs to no device.
    const drop = () => {
      const at = spares.indexOf(worker);
      if (at >= 0) spares.splice(at, 1);
    };
    worker.once('error', drop);
    worker.once('exit', drop);
    spares.push(worker);
  }
}

/** Spare threads started and not yet taken by a device (they may still be booting). */
export function spareSimThreads(): number {
  return spares.length;
}

/** A thread for the device `data`: a spare one if this process started any, else a new one. */
export function startSimThread(data: SimWorkerData): Worker {
  const spare = spares.shift();
  if (!spare) return new Worker(WORKER_URL, { workerData: data, resourceLimits: SIM_WORKER_LIMITS, env: workerEnv() });
  spare.removeAllListeners('error');
  spare.removeAllListeners('exit');
  spare.ref();
  spare.postMessage({ op: 'init', data } satisfies SimInitMessage);
  return spare;
}
