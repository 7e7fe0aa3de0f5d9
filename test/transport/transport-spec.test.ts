import { describe, expect, it } from 'vitest';
import { TransportSpecError } from '../../src/errors.ts';
import { formatTransportSpec, parseTransportSpec } from '../../src/transport/transport-spec.ts';

describe('transport specs', () => {
  it.each([
    ['-', { kind: 'stdio' }],
    ['state.vfm', { kind: 'file', path: 'state.vfm' }],
    ['/var/lib/x.vfm', { kind: 'file', path: '/var/lib/x.vfm' }],
    ['file:///tmp/a%20b', { kind: 'file', path: '/tmp/a b' }],
    ['tcp://10.0.0.2:7000', { kind: 'tcp', host: '10.0.0.2', port: 7000, tls: false }],
    ['tcp://:7000', { kind: 'tcp', host: '127.0.0.1', port: 7000, tls: false }],
    ['tls://[::1]:443', { kind: 'tcp', host: '::1', port: 443, tls: true }],
    ['tls://dst.example:7443', { kind: 'tcp', host: 'dst.example', port: 7443, tls: true }],
    ['unix:/run/vfm.sock', { kind: 'unix', path: '/run/vfm.sock' }],
    ['unix:///run/vfm.sock', { kind: 'unix', path: '/run/vfm.sock' }],
  ])('parses %s', (spec, expected) => {
    expect(parseTransportSpec(spec)).toEqual(expected);
  });

  it.each(['', 'tcp://host', 'tcp://host:99999', 'tcp://host:port', 'unix:', 'udp://x:1', 'tls://a:1/extra'])(
    'refuses %j with a typed error',
    (spec) => {
      expect(() => parseTransportSpec(spec)).toThrow(TransportSpecError);
    },
  );

  it('formats back to a spec that parses to the same thing', () => {
    for (const s of ['-', 'a.vfm', 'tcp://1.2.3.4:5', 'tls://[::1]:9', 'unix:/x.sock']) {
      const t = parseTransportSpec(s);
      expect(parseTransportSpec(formatTransportSpec(t))).toEqual(t);
    }
  });
});
