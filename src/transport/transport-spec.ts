// Where a stream goes or comes from, as the CLI and the library spell it: `-` (stdin/stdout), a PATH,
// `tcp://HOST:PORT`, `tls://HOST:PORT`, `unix:PATH`. A missing host means loopback: nothing listens on a public
// address unless asked to.
import { TransportSpecError } from '../errors.ts';

export type TransportSpec =
  | { kind: 'stdio' }
  | { kind: 'file'; path: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean }
  | { kind: 'unix'; path: string };

/** The host a receiver binds to, and a sender dials, when the spec names none. */
export const DEFAULT_HOST = '127.0.0.1';

export function parseTransportSpec(spec: string): TransportSpec {
  if (spec === '') throw new TransportSpecError('empty transport spec: expected -, PATH, tcp://HOST:PORT, unix:PATH');
  if (spec === '-') return { kind: 'stdio' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1]?.toLowerCase();
  if (scheme === 'unix') {
    const path = spec.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new TransportSpecError(`${JSON.stringify(spec)} names no socket path: expected unix:PATH`);
    return { kind: 'unix', path };
  }
  if (scheme === 'tcp' || scheme === 'tls') {
    const m = /^[a-z]+:\/\/(?:\[([0-9a-f:.]+)\]|([^:/[\]]*)):(\d+)\/?$/i.exec(spec);
    const port = Number(m?.[3]);
    if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TransportSpecError(
        `bad ${scheme} address ${JSON.stringify(spec)}: expected ${scheme}://HOST:PORT (HOST may be empty for ` +
          `${DEFAULT_HOST}, [IPv6] in brackets; PORT 0 picks a free port when listening)`,
      );
    }
    return { kind: 'tcp', host: m[1] ?? (m[2] || DEFAULT_HOST), port, tls: scheme === 'tls' };
  }
  if (scheme === 'file') return { kind: 'file', path: decodeURIComponent(new URL(spec).pathname) };
  if (scheme && scheme.length > 1 && /^[a-z]+:\/\//i.test(spec)) {
    throw new TransportSpecError(
      `unknown transport ${JSON.stringify(`${scheme}://`)} in ${JSON.stringify(spec)}: expected -, PATH, ` +
        'tcp://HOST:PORT, tls://HOST:PORT or unix:PATH',
    );
  }
  return { kind: 'file', path: spec };
}

/** The spec written back in canonical form (for messages and JSON). */
export function formatTransportSpec(spec: TransportSpec): string {
  switch (spec.kind) {
    case 'stdio':
      return '-';
    case 'file':
      return spec.path;
    case 'unix':
      return `unix:${spec.path}`;
    case 'tcp': {
      const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
      return `${spec.tls ? 'tls' : 'tcp'}://${host}:${spec.port}`;
    }
  }
}
