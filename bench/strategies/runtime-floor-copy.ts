// The runtime floor: a plain stdin -> stdout copy with nothing else, run under Node (node:stream pipeline) or Deno
// (its own ReadableStream.pipeTo). Two of them through a pipe show what a runtime's I/O alone costs next to cat.
//   node bench/strategies/runtime-floor-copy.ts < IN | node bench/strategies/runtime-floor-copy.ts > OUT
import process from 'node:process';
import { pipeline } from 'node:stream/promises';

interface DenoStdio {
  stdin: { readable: ReadableStream<Uint8Array> };
  stdout: { writable: WritableStream<Uint8Array> };
}

const deno = (globalThis as { Deno?: DenoStdio }).Deno;
if (deno) await deno.stdin.readable.pipeTo(deno.stdout.writable);
else await pipeline(process.stdin, process.stdout);
