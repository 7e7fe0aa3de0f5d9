// The simulated device alone, without the pipeline: how fast it produces (a STOP_COPY data session read to nowhere)
// and consumes (a prepared stream written into a RESUMING device, through its validation to STOP). The sim must not
// be what a device-to-device benchmark measures, so these rates are what to compare with the pipeline's.
//   node bench/sim-device-rate.ts [--device SPEC] [--repeat N] [--read-size BYTES] [--write-size BYTES]
// Prints one JSON line per run (with the CPU time both threads spent per GiB: on a shared machine the steadier
// number) and a summary with the best and median rates in GB/s.
import { parseArgs } from 'node:util';
import { openDevice } from '../src/device/open-device.ts';
import { READ_DRAINED, READ_END } from '../src/device/types.ts';

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'sim:gpu,size=1g,dirty=0' },
    repeat: { type: 'string', default: '3' },
    'read-size': { type: 'string', default: String(1 << 20) },
    'write-size': { type: 'string', default: String(1 << 20) },
  },
});
const spec = values.device;
const repeat = Number(values.repeat);
const readSize = Number(values['read-size']);
const writeSize = Number(values['write-size']);

/** Reads the source's whole STOP_COPY data; `keep` collects it (the consume runs' prepared stream). */
async function produce(
  keep: boolean,
): Promise<{ ms: number; cpuMs: number; bytes: number; stream: Uint8Array[]; digest?: string }> {
  const src = await openDevice(spec);
  try {
    await src.setState('STOP_COPY');
    const session = src.savingSession!;
    const stream: Uint8Array[] = [];
    const buf = new Uint8Array(readSize);
    let bytes = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (;;) {
      const n = await session.read(buf);
      if (n === READ_END) break;
      if (n === READ_DRAINED) throw new Error('a STOP_COPY session cannot be drained');
      bytes += n;
      // Packed into write-size pieces afterwards, so the consume runs write what a pipeline would.
      if (keep) stream.push(buf.slice(0, n));
    }
    const ms = performance.now() - t0;
    const cpuMs = cpuSince(c0);
    await src.setState('STOP');
    const digest = await src.stateDigest();
    return { ms, cpuMs, bytes, stream: keep ? repack(stream, writeSize) : [], digest };
  } finally {
    await src.close();
  }
}

function repack(pieces: Uint8Array[], size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let cur = new Uint8Array(size);
  let len = 0;
  for (const p of pieces) {
    let off = 0;
    while (off < p.length) {
      const take = Math.min(size - len, p.length - off);
      cur.set(p.subarray(off, off + take), len);
      len += take;
      off += take;
      if (len === size) {
        out.push(cur);
        cur = new Uint8Array(size);
        len = 0;
      }
    }
  }
  if (len > 0) out.push(cur.subarray(0, len));
  return out;
}

/** Writes `stream` into a RESUMING device and takes it to STOP (where it validates everything). */
async function consume(stream: Uint8Array[]): Promise<{ ms: number; cpuMs: number; bytes: number; digest?: string }> {
  const dst = await openDevice(spec);
  try {
    await dst.setState('RESUMING');
    const session = dst.resumingSession!;
    let bytes = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (const piece of stream) {
      await session.write(piece);
      bytes += piece.length;
    }
    await dst.setState('STOP');
    const ms = performance.now() - t0;
    const cpuMs = cpuSince(c0);
    return { ms, cpuMs, bytes, digest: await dst.stateDigest() };
  } finally {
    await dst.close();
  }
}

/** CPU time of the whole process (host thread, device thread, GC) since `c0`, in ms. */
function cpuSince(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

const rate = (bytes: number, ms: number) => (bytes / ms) * 1000;
const perGiB = (ms: number, bytes: number) => Math.round(ms / (bytes / 2 ** 30));
const gbps = (r: number) => Math.round(r / 1e7) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const prepared = await produce(true);
const produced: number[] = [];
const consumed: number[] = [];
for (let i = 0; i < repeat; i++) {
  const p = await produce(false);
  produced.push(rate(p.bytes, p.ms));
  const c = await consume(prepared.stream);
  if (c.digest !== prepared.digest) throw new Error(`digests differ: source ${prepared.digest}, resumed ${c.digest}`);
  consumed.push(rate(c.bytes, c.ms));
  console.log(
    JSON.stringify({
      run: i + 1,
      bytes: p.bytes,
      produceMs: Math.round(p.ms),
      produceGBps: gbps(rate(p.bytes, p.ms)),
      produceCpuMsPerGiB: perGiB(p.cpuMs, p.bytes),
      consumeMs: Math.round(c.ms),
      consumeGBps: gbps(rate(c.bytes, c.ms)),
      consumeCpuMsPerGiB: perGiB(c.cpuMs, c.bytes),
    }),
  );
}
console.log(
  JSON.stringify({
    device: spec,
    bytes: prepared.bytes,
    produce: { bestGBps: gbps(Math.max(...produced)), medianGBps: gbps(median(produced)) },
    consume: { bestGBps: gbps(Math.max(...consumed)), medianGBps: gbps(median(consumed)) },
    digestsEqual: true,
  }),
);
