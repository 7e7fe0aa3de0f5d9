// Throwaway TLS material for tests: a self-signed CA and a server certificate for 127.0.0.1/localhost, made with the
// openssl CLI in a temporary directory (never checked in).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFixture {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  otherCaFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  otherCa: Buffer;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'vfm-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=vfm test CA'],
    dir,
  );
  openssl(
    ['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=other CA'],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'srv.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'srv.pem',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ],
    dir,
  );
  const f = (n: string) => join(dir, n);
  return {
    dir,
    caFile: f('ca.pem'),
    certFile: f('srv.pem'),
    keyFile: f('srv.key'),
    otherCaFile: f('other.pem'),
    ca: readFileSync(f('ca.pem')),
    cert: readFileSync(f('srv.pem')),
    key: readFileSync(f('srv.key')),
    otherCa: readFileSync(f('other.pem')),
  };
}
