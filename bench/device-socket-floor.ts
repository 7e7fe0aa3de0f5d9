// The floor under the simulated device's own rate: the same bytes through the same kind of socket between a thread and
// the main thread, with no work done on either end. A device thread that writes ready 128 KiB records (at most 512 KiB
// queued, as the producing device does) to a host reading them through a RingSocket into one 1 MiB buffer; then the
// host writing 1 MiB pieces, each copied first and at most 1 MiB queued (as a resuming session does), to a thread that
// reads them into one reused buffer and drops them. What the device does beyond this (its pages, their checks, the
// framing's hash, the sessions' promises) is what it costs; what this costs belongs to the runtime and the kernel.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RingSocket as RingSocketClass } from '../src/transport/ring-socket.ts';

export interface SocketFloor {
  /** Milliseconds to move the bytes from the thread to the host, and from the host to the thread. */
  toHostMs: number;
  toThreadMs: number;
}

// CommonJS: an eval'd worker is a script. It either serves the bytes (host reads) or connects and drops them.
const THREAD = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const { path, bytes, mode, recordBytes } = workerData;
if (mode === 'serve') {
  const record = new Uint8Array(recordBytes).fill(0x5a);
  const server = net.createServer((socket) => {
    server.close();
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(record.length, left);
        left -= n;
        socket.write(n === record.length ? record : record.subarray(0, n));
        if (socket.writableLength > 512 * 1024) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  server.listen(path, () => parentPort.postMessage('ready'));
} else {
  const space = new Uint8Array(256 * 1024);
  let got = 0;
  const socket = net.createConnection({
    path,
    onread: { buffer: () => space, callback: (n) => { got += n; return true; } },
  });
  socket.on('end', () => { parentPort.postMessage(got); socket.end(); });
}
`;

function startThread(workerData: object): Worker {
  return new Worker(THREAD, { eval: true, workerData });
}

function once<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

export interface FloorShape {
  RingSocket: typeof RingSocketClass;
  /** The host's ring for a device's socket (SOCKET_READ_BUFFER), and a full record's size (recordSize(32)). */
  ringBytes: number;
  recordBytes: number;
}

export async function socketFloor(bytes: number, dir: string, shape: FloorShape): Promise<SocketFloor> {
  const { RingSocket } = shape;
  const buf = new Uint8Array(1 << 20);

  // thread -> host
  const servePath = join(dir, 'floor-serve.sock');
  const server = startThread({ path: servePath, bytes, mode: 'serve', recordBytes: shape.recordBytes });
  await once(server);
  const ring = await RingSocket.connect(servePath, shape.ringBytes);
  let started = performance.now();
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    const drain = () => {
      for (let n = ring.take(buf); n > 0; n = ring.take(buf)) got += n;
      if (ring.error) reject(ring.error);
      else if (ring.drainedEnd) resolve();
    };
    ring.onChange(drain);
    drain();
  });
  const toHostMs = performance.now() - started;
  ring.destroy();
  await server.terminate();
  if (got !== bytes) throw new Error(`the socket floor moved ${got} bytes to the host, not ${bytes}`);

  // host -> thread
  const net = await import('node:net');
  const sinkPath = join(dir, 'floor-sink.sock');
  const listening = net.createServer();
  await new Promise<void>((resolve) => listening.listen(sinkPath, resolve));
  const accepted = new Promise<import('node:net').Socket>((resolve) => listening.once('connection', resolve));
  const sink = startThread({ path: sinkPath, mode: 'sink' });
  const socket = await accepted;
  listening.close();
  const received = once<number>(sink);
  started = performance.now();
  const spares: Uint8Array[] = [];
  for (let left = bytes; left > 0; ) {
    const n = Math.min(buf.length, left);
    left -= n;
    const copy = spares.pop() ?? new Uint8Array(buf.length);
    copy.set(buf.subarray(0, n));
    socket.write(copy.subarray(0, n), () => spares.length < 2 && spares.push(copy));
    if (socket.writableLength > 1024 * 1024) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
  const sunk = await received;
  const toThreadMs = performance.now() - started;
  await sink.terminate();
  if (sunk !== bytes) throw new Error(`the socket floor moved ${sunk} bytes to the thread, not ${bytes}`);
  return { toHostMs, toThreadMs };
}
