// The simulated device itself: runs in a worker thread, off the host's event loop. It answers control requests from
// the backend over the message port and moves migration data through a UNIX socket the host connects to, so reads,
// writes, EOF and backpressure are the kernel's.
import net from 'node:net';
import process from 'node:process';
import { parentPort, workerData } from 'node:worker_threads';
import { loadCore } from '../../core/wasm-module.ts';
import { InjectedFaultError, SimStreamRejectedError, VfioMigrateError } from '../../errors.ts';
import { arcSessionEffect, DeviceState, isPreCopyState, stateName } from '../../fsm/index.ts';
import { admitHost, keysMatch, newSessionKeys, type SessionKeys } from './data-session-handshake.ts';
import type { DeviceDataConnection } from './device-data-connection.ts';
import { StreamProblem } from './device-stream-format.ts';
import { SimDeviceModel } from './sim-device-model.ts';
import type {
  SerializedError,
  SimEvent,
  SimRequest,
  SimSessionOpened,
  SimStats,
  SimWorkerData,
} from './sim-protocol.ts';
import { formatSimSpec } from './sim-spec.ts';
import type { SimInitMessage, SpareWorkerData } from './sim-thread.ts';
import { StateConsumer } from './state-consumer.ts';
import { StateProducer } from './state-producer.ts';

const port = parentPort;
if (!port) throw new Error('sim-worker.ts runs as a worker thread');
// A spare thread (sim-thread.ts) boots before its device is known and learns it from its first message.
const given = workerData as SimWorkerData | SpareWorkerData;
const { config, socketPath } =
  'spare' in given
    ? await new Promise<SimWorkerData>((resolve) => port.once('message', (m: SimInitMessage) => resolve(m.data)))
    : given;
const model = new SimDeviceModel(config);
const deviceId = formatSimSpec(config);
let producer: StateProducer | null = null;
let consumer: StateConsumer | null = null;
let lastProduced = 0;
let lastConsumed = 0;
let sessionIds = 0;

/** The session waiting for the host to connect its data socket (at most one: saving and resuming exclude each other). */
let awaitingHost: { keys: SessionKeys; attach: (connection: DeviceDataConnection) => void } | null = null;

const post = (event: SimEvent) => port.postMessage(event);

function die(detail: string): void {
  post({ ev: 'dying', detail });
  // Gone at once, like a killed process: its end of the data fd closes with it.
  process.exit(70);
}

// Anyone on the host may find the socket; only a connection presenting the open session's key gets it.
const server = net.createServer((socket) => {
  void admitHost(socket, (key) => {
    const waiting = awaitingHost;
    if (!waiting || !keysMatch(key, waiting.keys.host)) return null;
    awaitingHost = null;
    return waiting;
  });
});
server.once('error', (err) => die(`its data socket cannot listen: ${err.message}`));
server.listen(socketPath, () => post({ ev: 'ready' }));

function closeSessions(): void {
  if (producer) {
    lastProduced = producer.written;
    producer.close();
  }
  if (consumer) {
    lastConsumed = consumer.consumed;
    consumer.close();
  }
  producer = null;
  consumer = null;
  awaitingHost = null;
}

async function arc(from: DeviceState, to: DeviceState, written: number): Promise<SimSessionOpened> {
  if (model.state !== from) {
    throw new Error(`internal: asked for ${stateName(from)} -> ${stateName(to)} in ${stateName(model.state)}`);
  }
  const name = `${stateName(from)}>${stateName(to)}`;
  if (config.faults.failArc === name) {
    if (config.faults.failArcMode === 'error') {
      closeSessions();
      model.setState(DeviceState.ERROR);
    }
    throw new InjectedFaultError(name, `injected failure of ${stateName(from)} -> ${stateName(to)} (fail-arc)`);
  }
  const effect = arcSessionEffect(from, to);
  if (from === DeviceState.RESUMING && to === DeviceState.STOP && consumer) {
    // The device completes loading here: everything the host wrote must have been taken, then judged.
    const c = consumer;
    await c.waitConsumed(written);
    try {
      const state = c.finish();
      model.load(state.seed, state.gen);
    } catch (err) {
      closeSessions();
      model.setState(DeviceState.ERROR);
      if (err instanceof StreamProblem) {
        throw new SimStreamRejectedError(err.reason, `${deviceId} refused its resuming data: ${err.message}`, {
          device: deviceId,
          offset: err.offset,
          acceptedBytes: c.consumed,
        });
      }
      throw err;
    }
  }
  if (effect.closes) closeSessions();
  model.setState(to);
  if (effect.opens === 'saving') {
    const p = new StateProducer(++sessionIds, model, isPreCopyState(to) ? 'precopy' : 'stopcopy', { post, die });
    producer = p;
    const keys = newSessionKeys();
    awaitingHost = { keys, attach: (connection) => p.attach(connection) };
    return { session: 'saving', id: p.id, keys };
  }
  if (effect.opens === 'resuming') {
    const c = new StateConsumer(++sessionIds, model, { die });
    consumer = c;
    const keys = newSessionKeys();
    awaitingHost = { keys, attach: (connection) => c.attach(connection) };
    return { session: 'resuming', id: c.id, keys };
  }
  if (to === DeviceState.STOP_COPY && producer) producer.enterStopCopy();
  return { session: null };
}

async function handle(req: SimRequest): Promise<unknown> {
  switch (req.op) {
    case 'state':
      model.accrue();
      return model.state;
    case 'arc':
      return arc(req.from, req.to, req.written);
    case 'precopy-info': {
      if (!producer || !isPreCopyState(model.state)) throw new Error('internal: no pre-copy session');
      return producer.precopyInfo(req.read);
    }
    case 'stop-copy-size':
      return producer ? producer.remainingBytes(req.read) : null;
    case 'reset':
      closeSessions();
      model.reset();
      return null;
    case 'digest':
      return model.digest();
    case 'advance':
      model.advance(req.ms);
      return null;
    case 'stats': {
      const stats: SimStats = {
        state: model.state,
        produced: producer?.written ?? lastProduced,
        consumed: consumer?.consumed ?? lastConsumed,
        pagesDirtied: model.pagesDirtied,
        heapUsed: process.memoryUsage().heapUsed,
      };
      return stats;
    }
  }
}

function serialize(err: unknown): SerializedError {
  if (err instanceof VfioMigrateError) {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(err)) if (k !== 'name' && k !== 'message' && k !== 'code') fields[k] = v;
    return { code: err.code, name: err.name, message: err.message, fields };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: 'VFM_INTERNAL', name: e.name, message: e.message, fields: {} };
}

let warmed = false;

/**
 * Loads the checksum core a session needs (about 5 ms in a fresh thread) once the host's first request is answered:
 * the host then prepares its side (a save opens its output) while this thread would wait, instead of loading it
 * when the session opens, with the host waiting.
 */
function warmAfterFirstAnswer(): void {
  if (warmed) return;
  warmed = true;
  setImmediate(() => {
    try {
      loadCore();
    } catch {
      // a core that cannot load fails the session that needs it, where it is reported
    }
  });
}

port.on('message', (msg: { id: number; req: SimRequest }) => {
  handle(msg.req)
    .then(
      (value) => port.postMessage({ id: msg.id, ok: true, value }),
      (err) => port.postMessage({ id: msg.id, ok: false, error: serialize(err) }),
    )
    .finally(warmAfterFirstAnswer);
});
