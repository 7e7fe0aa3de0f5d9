// The native twin of each strategy: the stock tools doing the same job on the same bytes, so each of our results
// reads as a ratio to what the machine does natively. Codecs: cat | cat (none), lz4 -1 | lz4 -d, zstd -L -TN |
// zstd -d. Sockets: socat (TCP, TLS with the same certificates, UNIX) between the codec's two ends; where socat is
// missing, a plain Node socket copy (socket-copy.ts), named so in the results.
import { spawnSync } from 'node:child_process';
import { q } from './rss.ts';
import type { Proc } from './runner.ts';
import type { TlsFiles } from './tls-certs.ts';

// VFM_BENCH_NO_SOCAT=1 takes the fallback even where socat is installed (to compare the two, or to test it)
export const HAVE_SOCAT =
  !process.env.VFM_BENCH_NO_SOCAT && spawnSync('sh', ['-c', 'command -v socat'], { stdio: 'ignore' }).status === 0;

export type Codec = 'none' | 'lz4' | 'zstd';
export type Link = 'pipe' | 'tcp' | 'tls' | 'unix';

export interface TwinCodec {
  codec: Codec;
  level?: number;
  /** zstd compression threads (-T). */
  threads?: number;
}

export function twinName(c: TwinCodec, link: Link = 'pipe'): string {
  const codec =
    c.codec === 'none'
      ? 'cat | cat'
      : c.codec === 'lz4'
        ? 'lz4 -1 | lz4 -d'
        : `zstd -${c.level ?? 3} -T${c.threads ?? 2} | zstd -d`;
  return link === 'pipe' ? codec : `${codec} over ${HAVE_SOCAT ? 'socat' : 'node socket copy'} ${link}`;
}

/** The sending end's compressor reading `file` (to stdout), and the receiving end's decompressor (to /dev/null). */
export function twinCodecEnds(c: TwinCodec, file: string): { encode: string; decode: string } {
  switch (c.codec) {
    case 'none':
      return { encode: `cat ${q(file)}`, decode: 'cat > /dev/null' };
    case 'lz4':
      return { encode: `lz4 -1 -q -c ${q(file)}`, decode: 'lz4 -d -q -c > /dev/null' };
    case 'zstd':
      return {
        encode: `zstd -${c.level ?? 3} -T${c.threads ?? 2} -q -c ${q(file)}`,
        decode: 'zstd -d -q -c > /dev/null',
      };
  }
}

export function twinPipe(c: TwinCodec, file: string): Proc[] {
  const { encode, decode } = twinCodecEnds(c, file);
  return [
    { cmd: encode, end: 0 },
    { cmd: decode, end: 1 },
  ];
}

export interface SocketAddress {
  port: number;
  sock: string;
  tls: TlsFiles | null;
}

/** The socket ends of the Node fallback: `node socket-copy.ts listen|connect LINK WHERE [files]`. */
function nodeCopyEnds(
  link: Exclude<Link, 'pipe'>,
  a: SocketAddress,
  copier: string,
): { listen: string; connect: string } {
  const where = link === 'unix' ? q(a.sock) : String(a.port);
  const server = link === 'tls' && a.tls ? ` ${q(a.tls.cert)} ${q(a.tls.key)}` : '';
  const client = link === 'tls' && a.tls ? ` ${q(a.tls.ca)}` : '';
  return {
    listen: `${copier} listen ${link} ${where}${server}`,
    connect: `${copier} connect ${link} ${where}${client}`,
  };
}

/** socat's address for the listening and the connecting side of a link. */
export function socatAddresses(link: Exclude<Link, 'pipe'>, a: SocketAddress): { listen: string; connect: string } {
  switch (link) {
    case 'tcp':
      return { listen: `TCP-LISTEN:${a.port},bind=127.0.0.1,reuseaddr`, connect: `TCP:127.0.0.1:${a.port}` };
    case 'unix':
      return { listen: `UNIX-LISTEN:${q(a.sock)},unlink-early`, connect: `UNIX-CONNECT:${q(a.sock)}` };
    case 'tls': {
      if (!a.tls) throw new Error('tls twin without certificates');
      return {
        listen: `OPENSSL-LISTEN:${a.port},bind=127.0.0.1,reuseaddr,cert=${q(a.tls.cert)},key=${q(a.tls.key)},verify=0`,
        connect: `OPENSSL:127.0.0.1:${a.port},cafile=${q(a.tls.ca)},verify=1`,
      };
    }
  }
}

/** The twin over a socket: compressor | socat (sender), socat | decompressor (receiver, listening). */
export function twinSocket(
  c: TwinCodec,
  link: Exclude<Link, 'pipe'>,
  file: string,
  a: SocketAddress,
  /** The command starting socket-copy.ts, for machines without socat. */
  copier: string,
): { listener: Proc[]; connector: Proc[]; ready: RegExp } {
  const { encode, decode } = twinCodecEnds(c, file);
  let listener: string;
  let connector: string;
  if (HAVE_SOCAT) {
    const { listen, connect } = socatAddresses(link, a);
    // -d -d makes socat say "listening on" once it listens
    listener = `socat -d -d -u ${listen} STDOUT`;
    connector = `socat -u STDIN ${connect}`;
  } else {
    const ends = nodeCopyEnds(link, a, copier);
    listener = ends.listen;
    connector = ends.connect;
  }
  return {
    listener: [
      { cmd: listener, end: 1 },
      { cmd: decode, end: 1 },
    ],
    connector: [
      { cmd: encode, end: 0 },
      { cmd: connector, end: 0 },
    ],
    ready: /listening on/,
  };
}

/** A command printing the twin's wire bytes (its compressor's output size), run once outside the timing. */
export function twinWireCommand(c: TwinCodec, file: string): string {
  return `${twinCodecEnds(c, file).encode} | wc -c`;
}
