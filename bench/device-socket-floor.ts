// The floor under the simulated device's own rate: the same bytes through the same kind of socket between a thread and
// the main thread, with no work done on either end, and each writer pacing itself as the device's path does.
// - To the host: a thread writes ready 128 KiB records (past 512 KiB queued it waits for its last write to reach the
//   kernel, as the producing device does) to a host reading them through a RingSocket into one 1 MiB buffer.
// - To the thread: the host writes 1 MiB pieces, each copied first, at most 1 MiB on its way and its socket's send
//   buffer grown (as a resuming session does), to a thread that reads them into one reused buffer and drops them;
//   then the same through a socket left at the kernel's default send buffer.
// What the device does beyond this (its pages, their checks, the framing's hash, the sessions' promises) is what it
// costs; what this costs belongs to the runtime and the kernel.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RingSocket as RingSocketClass } from '../src/transport/ring-socket.ts';

export interface SocketFloor {
  /** Milliseconds to move the bytes from the thread to the host, and from the host to the thread. */
  toHostMs: number;
  toThreadMs: number;
  /** To the thread through a socket left at the kernel's default send buffer. */
  toThreadDefaultBufferMs: number;
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
        // as the producing device does: past 512 KiB queued, wait for this write to reach the kernel (not for the
        // whole queue to drain, which would stop the socket)
        let waiting = false;
        socket.write(n === record.length ? record : record.subarray(0, n), () => waiting && pump());
        if (socket.writableLength > 512 * 1024) return void (waiting = true);
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
  /** What a resuming session does to its socket (socket-send-buffer.ts). */
  growSendBuffer(socket: import('node:net').Socket): Promise<boolean>;
}

export async function socketFloor(bytes: number, dir: string, shape: FloorShape): Promise<SocketFloor> {
  const { RingSocket } = shape;
  const buf = new Uint8Array(1 << 20);

  // thread -> host
  const servePath = join(dir, 'floor-serve.sock');
  const server = startThread({ path: servePath, bytes, mode: 'serve', recordBytes: shape.recordBytes });
  await once(server);
  const ring = await RingSocket.connect(servePath, shape.ringBytes);
  const started = performance.now();
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

  // host -> thread: with the send buffer a resuming session has, and with the kernel's default (what it would cost
  // without the FFI)
  const toThreadMs = await toThread(bytes, dir, buf, shape.growSendBuffer);
  const toThreadDefaultBufferMs = await toThread(bytes, dir, buf, async () => false);
  return { toHostMs, toThreadMs, toThreadDefaultBufferMs };
}

async function toThread(
  bytes: number,
  dir: string,
  buf: Uint8Array,
  grow: (socket: import('node:net').Socket) => Promise<boolean>,
): Promise<number> {
  const net = await import('node:net');
  const sinkPath = join(dir, 'floor-sink.sock');
  const listening = net.createServer();
  await new Promise<void>((resolve) => listening.listen(sinkPath, resolve));
  const accepted = new Promise<import('node:net').Socket>((resolve) => listening.once('connection', resolve));
  const sink = startThread({ path: sinkPath, mode: 'sink' });
  const socket = await accepted;
  await grow(socket);
  listening.close();
  const received = once<number>(sink);
  const started = performance.now();
  const spares: Uint8Array[] = [];
  // as a resuming session does: at most 1 MiB on its way, counted by the writes' callbacks (waiting for 'drain' would
  // wait for an empty queue, and stop the socket)
  let queued = 0;
  let room: (() => void) | null = null;
  for (let left = bytes; left > 0; ) {
    while (queued >= 1024 * 1024) await new Promise<void>((resolve) => (room = resolve));
    const n = Math.min(buf.length, left);
    left -= n;
    const copy = spares.pop() ?? new Uint8Array(buf.length);
    copy.set(buf.subarray(0, n));
    queued += n;
    socket.write(copy.subarray(0, n), () => {
      queued -= n;
      if (spares.length < 2) spares.push(copy);
      const wake = room;
      room = null;
      wake?.();
    });
  }
  socket.end();
  const sunk = await received;
  const ms = performance.now() - started;
  await sink.terminate();
  if (sunk !== bytes) throw new Error(`the socket floor moved ${sunk} bytes to the thread, not ${bytes}`);
  return ms;
}
