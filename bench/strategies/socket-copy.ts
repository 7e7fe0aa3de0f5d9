// The socket twin where socat is missing: a plain Node copy between a socket and stdio, with nothing else (no
// framing, no checksums), over TCP, TLS or a UNIX socket.
//   node socket-copy.ts listen tcp|tls|unix PORT|PATH [CERT KEY] > OUT     (says "listening on" on stderr)
//   node socket-copy.ts connect tcp|tls|unix PORT|PATH [CA] < IN
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import * as tls from 'node:tls';

const [mode, link, where, a, b] = process.argv.slice(2);
const unix = link === 'unix';
const target = unix ? { path: where! } : { host: '127.0.0.1', port: Number(where) };

if (mode === 'listen') {
  const onPeer = async (peer: Socket) => {
    server.close();
    await pipeline(peer, process.stdout);
  };
  const server =
    link === 'tls'
      ? tls.createServer({ cert: readFileSync(a!), key: readFileSync(b!) }, onPeer)
      : createServer((peer) => void onPeer(peer));
  server.listen(target, () => process.stderr.write('listening on\n'));
} else if (mode === 'connect') {
  const socket =
    link === 'tls'
      ? tls.connect({ ...target, ca: readFileSync(a!), servername: 'localhost' })
      : unix
        ? connect({ path: where! })
        : connect({ host: '127.0.0.1', port: Number(where) });
  await new Promise((resolve, reject) =>
    socket.once(link === 'tls' ? 'secureConnect' : 'connect', resolve).once('error', reject),
  );
  await pipeline(process.stdin, socket);
} else {
  process.stderr.write('usage: socket-copy.ts listen|connect tcp|tls|unix PORT|PATH [CERT KEY | CA]\n');
  process.exit(2);
}
