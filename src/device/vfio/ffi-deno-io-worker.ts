// Worker thread for Deno's data fd I/O: read(2)/write(2) block here, not on the event loop, and errno is read on the
// thread that made the call.
import { openDenoLibc } from './ffi-deno.ts';

interface Request {
  id: number;
  op: 'read' | 'write';
  fd: number;
  len?: number;
  data?: Uint8Array;
}

const { s, result } = openDenoLibc();
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (ev) => {
  const { id, op, fd } = ev.data;
  if (op === 'read') {
    const buf = new Uint8Array(ev.data.len ?? 0);
    let r = result(s.read(fd, buf, BigInt(buf.length)));
    while (r.ret < 0 && r.errno === 4) r = result(s.read(fd, buf, BigInt(buf.length))); // EINTR
    scope.postMessage({ id, ret: r.ret, errno: r.errno, data: r.ret > 0 ? buf : null }, r.ret > 0 ? [buf.buffer] : []);
  } else {
    const data = ev.data.data ?? new Uint8Array(0);
    let r = result(s.write(fd, data, BigInt(data.length)));
    while (r.ret < 0 && r.errno === 4) r = result(s.write(fd, data, BigInt(data.length)));
    scope.postMessage({ id, ret: r.ret, errno: r.errno, data: null });
  }
};
