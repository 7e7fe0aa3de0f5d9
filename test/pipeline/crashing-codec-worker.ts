// A codec worker that dies on purpose, for the pool's fault-injection tests (passed as CodecPool's `workerUrl`). It
// runs the real entry, src/pipeline/codec-worker.ts, unchanged: the plan only decides when the thread dies, by wrapping
// the port the real entry talks through. The plan arrives as `globalThis.crashPlan`, set by the data: URL that imports
// this module (a worker URL's query string does not survive Node's file-URL-to-path conversion).
import { openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export interface CrashPlan {
  /** `exit`: process.exit(exitCode) in the thread. `throw`: an uncaught exception (the pool sees an 'error' event). */
  how: 'exit' | 'throw';
  /**
   * `start`: before the codec is created. `after-ready`: right after reporting ready, and only in the thread that
   * creates `lockFile` first; the others report ready `delayMs` late, so the death lands while they still start.
   * `{ seq }`: on receiving the request for chunk `seq` (encode or decode), before the codec sees it.
   */
  when: 'start' | 'after-ready' | { seq: number };
  exitCode?: number;
  lockFile?: string;
  delayMs?: number;
}

const plan = (globalThis as { crashPlan?: CrashPlan }).crashPlan;
const port = parentPort;
if (!plan || !port) throw new Error('crashing-codec-worker: no crash plan (load it through a data: URL that sets one)');

function die(where: string): never {
  if (plan!.how === 'exit') process.exit(plan!.exitCode ?? 70);
  throw new Error(`injected crash ${where}`);
}

function seqOf(req: { op: string; seq?: number; descriptor?: { seq: number } }): number | undefined {
  return req.op === 'encode' ? req.seq : req.descriptor?.seq;
}

const when = plan.when;
if (when === 'start') die('at start');

if (when === 'after-ready') {
  let winner = false;
  try {
    openSync(plan.lockFile!, 'wx');
    winner = true;
  } catch {}
  const post = port.postMessage.bind(port);
  port.postMessage = ((msg: { ready?: boolean }, transfer?: Transferable[]) => {
    if (msg.ready === undefined) return post(msg, transfer as never);
    if (!winner) return void setTimeout(() => post(msg), plan.delayMs ?? 200);
    post(msg);
    // Die from a task of its own, outside the entry's ready callback, as a thread crashing on its own would.
    setImmediate(() => die('after reporting ready'));
  }) as typeof port.postMessage;
} else {
  const on = port.on.bind(port);
  port.on = ((event: string, listener: (req: never) => void) =>
    on(event as 'message', (req: Parameters<typeof seqOf>[0]) => {
      if (event === 'message' && seqOf(req) === when.seq) die(`on chunk ${when.seq}`);
      listener(req as never);
    })) as typeof port.on;
}

await import('../../src/pipeline/codec-worker.ts');
