// The simulated device alone, without the pipeline: how fast it produces its migration data (a saving session read
// to its end into one reused buffer) and how fast it takes and checks it (the same bytes written into a resuming
// session of a second device, which regenerates and compares every page). The bar: at least three times the
// pipeline's own rate, so that a device-to-device run measures the pipeline, not the device. That rate is measured in
// the same run, between the two: the pipeline's two ends (bench/pipeline-ends.ts) in two processes over a pipe, on
// the bytes the device produced, wall time from start to end; each device rate is also given as a ratio to it.
//   node bench/device-rate.ts [--dist] [--codec lz4|zstd|none] [SPEC]      (default sim:gpu,size=512m,dirty=0, lz4)
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { socketFloor } from './device-socket-floor.ts';
import { writePipelineEndsScript } from './strategies/ends-script.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { dist: { type: 'boolean' }, codec: { type: 'string', default: 'lz4' } },
});
// a computed specifier, so type checking does not need a build; the types are the sources'
const from = (src: string) => (values.dist ? `../dist/${src}.js` : `../src/${src}.ts`);
const { openDevice } = (await import(from('device/open-device'))) as typeof import('../src/device/open-device.ts');
const { READ_END } = (await import(from('device/types'))) as typeof import('../src/device/types.ts');
const { RingSocket } = (await import(
  from('transport/ring-socket')
)) as typeof import('../src/transport/ring-socket.ts');
const { SOCKET_READ_BUFFER } = (await import(
  from('device/sim/sim-sessions')
)) as typeof import('../src/device/sim/sim-sessions.ts');
const { growSendBuffer } = (await import(
  from('transport/socket-send-buffer')
)) as typeof import('../src/transport/socket-send-buffer.ts');
const { MAX_RECORD_PAGES, recordSize } = (await import(
  from('device/sim/device-stream-format')
)) as typeof import('../src/device/sim/device-stream-format.ts');
const spec = positionals[0] ?? 'sim:gpu,size=512m,dirty=0';
const MB = 1e6;

const dir = mkdtempSync(join(tmpdir(), 'vfm-device-rate-'));
const raw = join(dir, 'raw');
const buf = new Uint8Array(1 << 20);
try {
  // produce: STOP_COPY and read to the end, twice: timed into one reused buffer, then untimed into a file for the
  // second half (writing 512 MiB to a file while timing took the machine from the device it measured)
  const produce = async (into: number | null): Promise<{ bytes: number; ms: number }> => {
    const src = await openDevice(spec, { role: 'source' });
    let bytes = 0;
    let ms = 0;
    try {
      await src.setState('STOP_COPY');
      for (;;) {
        const t = performance.now();
        const n = await src.savingSession!.read(buf);
        ms += performance.now() - t;
        if (n === READ_END) break;
        if (n > 0) {
          if (into !== null) writeSync(into, buf, 0, n);
          bytes += n;
        }
      }
      await src.setState('RUNNING');
    } finally {
      await src.close();
    }
    return { bytes, ms };
  };
  const { bytes: produced, ms: produceMs } = await produce(null);
  const out = openSync(raw, 'w');
  try {
    await produce(out);
  } finally {
    closeSync(out);
  }
  // the pipeline alone on the same bytes, between the two device runs (this machine's speed drifts from minute to
  // minute; a ratio is only worth something within one run)
  const ends = writePipelineEndsScript(fileURLToPath(new URL('..', import.meta.url)));
  const dist = values.dist ? ' --dist' : '';
  const q = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;
  const pipeline = `${q(process.execPath)} ${q(ends)} encode${dist} --codec ${values.codec} ${q(raw)} | ${q(process.execPath)} ${q(ends)} decode${dist}`;
  const started = performance.now();
  const alone = spawnSync('sh', ['-c', `set -e; ${pipeline}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const pipelineMs = performance.now() - started;
  if (alone.status !== 0) {
    throw new Error(`the pipeline alone failed (${alone.status ?? alone.signal}): ${pipeline}\n${alone.stderr}`);
  }
  // check: RESUMING, the same bytes in 1 MiB writes, then STOP (the device judges the whole stream there). The file
  // is read 64 MiB at a time between the timed writes: read a megabyte per write, it took the two cores from the
  // device it measured (a page-cache read here runs at 1.3 GB/s), and the checking rate swung with it
  const dst = await openDevice(spec, { role: 'destination' });
  const input = openSync(raw, 'r');
  const block = new Uint8Array(64 << 20);
  let checkMs = 0;
  try {
    await dst.setState('RESUMING');
    for (;;) {
      let n = 0;
      for (let got = -1; got !== 0 && n < block.length; n += got)
        got = readSync(input, block, n, block.length - n, null);
      if (n === 0) break;
      for (let at = 0; at < n; at += buf.length) {
        const t = performance.now();
        await dst.resumingSession!.write(block.subarray(at, Math.min(n, at + buf.length)));
        checkMs += performance.now() - t;
      }
    }
    const t = performance.now();
    await dst.setState('STOP');
    checkMs += performance.now() - t;
    await dst.setState('RUNNING');
  } finally {
    closeSync(input);
    await dst.close();
  }
  // the runtime's and the kernel's share: the same bytes through a socket between two threads, no work on either end
  const floor = await socketFloor(produced, dir, {
    RingSocket,
    ringBytes: SOCKET_READ_BUFFER,
    recordBytes: recordSize(MAX_RECORD_PAGES),
    growSendBuffer,
  });
  const rate = (ms: number) => produced / MB / (ms / 1000);
  const ratio = (ms: number, to = pipelineMs) => Math.round((to / ms) * 100) / 100;
  console.log(
    JSON.stringify({
      spec,
      bytes: produced,
      produceMBps: Math.round(rate(produceMs)),
      checkMBps: Math.round(rate(checkMs)),
      pipelineMBps: Math.round(rate(pipelineMs)),
      codec: values.codec,
      produceRatio: ratio(produceMs),
      checkRatio: ratio(checkMs),
      floorToHostMBps: Math.round(rate(floor.toHostMs)),
      floorToThreadMBps: Math.round(rate(floor.toThreadMs)),
      floorToThreadDefaultBufferMBps: Math.round(rate(floor.toThreadDefaultBufferMs)),
      floorToHostRatio: ratio(floor.toHostMs),
      floorToThreadRatio: ratio(floor.toThreadMs),
      produceOfFloor: ratio(produceMs, floor.toHostMs),
      checkOfFloor: ratio(checkMs, floor.toThreadMs),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
