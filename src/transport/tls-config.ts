// TLS for tcp: either certificates (the listener presents one; the connector checks it against `ca`; with `ca` on
// the listener and a certificate on the connector, both sides are authenticated) or a pre-shared key (both sides
// hold the same secret and identity; no certificates at all).
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import { TransportSpecError } from '../errors.ts';

export interface TlsPsk {
  /** The identity the connector announces; the listener accepts only this one. */
  identity: string;
  /** The secret, at least 16 bytes. */
  key: Uint8Array;
}

export interface TlsSettings {
  /** PEM certificate chain this side presents (required on the listener in certificate mode). */
  cert?: string | Uint8Array;
  /** PEM private key for `cert`. */
  key?: string | Uint8Array;
  /** PEM CA(s) the peer's certificate must chain to (connector: instead of the system store; listener: mTLS). */
  ca?: string | Uint8Array;
  /** Name the connector expects in the listener's certificate (default: the host it dials). */
  servername?: string;
  /** Pre-shared key mode (excludes certificates). */
  psk?: TlsPsk;
}

/** Suites usable with an external PSK: TLS 1.3 with SHA-256 (OpenSSL's PSK hash) and the TLS 1.2 PSK suites. */
const PSK_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'PSK-AES128-GCM-SHA256',
  'PSK-AES256-GCM-SHA384',
  'PSK-CHACHA20-POLY1305',
].join(':');

function checkPsk(psk: TlsPsk): void {
  if (psk.key.length < 16) throw new TransportSpecError('the TLS pre-shared key must be at least 16 bytes');
  if (!psk.identity) throw new TransportSpecError('the TLS pre-shared key needs a non-empty identity');
}

/** Options for tls.createServer. */
export function tlsServerOptions(settings: TlsSettings | undefined): tls.TlsOptions {
  if (settings?.psk) {
    const psk = settings.psk;
    checkPsk(psk);
    const secret = Buffer.from(psk.key);
    return {
      ciphers: PSK_CIPHERS,
      pskCallback: (_socket, identity) => (identity === psk.identity ? secret : null),
    } as tls.TlsOptions;
  }
  if (!settings?.cert || !settings.key) {
    throw new TransportSpecError(
      'a tls:// listener needs a certificate and key (--tls-cert, --tls-key) or a pre-shared key (--psk-file)',
    );
  }
  return {
    cert: settings.cert,
    key: settings.key,
    minVersion: 'TLSv1.2',
    ...(settings.ca ? { ca: settings.ca, requestCert: true, rejectUnauthorized: true } : {}),
  } as tls.TlsOptions;
}

/** Options for tls.connect. */
export function tlsClientOptions(settings: TlsSettings | undefined, host: string): tls.ConnectionOptions {
  if (settings?.psk) {
    const psk = settings.psk;
    checkPsk(psk);
    const secret = Buffer.from(psk.key);
    return {
      ciphers: PSK_CIPHERS,
      pskCallback: () => ({ psk: secret, identity: psk.identity }),
      // No certificate is exchanged in PSK mode: the key itself authenticates the listener.
      checkServerIdentity: () => undefined,
    } as tls.ConnectionOptions;
  }
  const isIp = /^[\d.]+$|:/.test(host);
  return {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...(settings?.ca ? { ca: settings.ca } : {}),
    ...(settings?.cert && settings.key ? { cert: settings.cert, key: settings.key } : {}),
    ...(settings?.servername ? { servername: settings.servername } : isIp ? {} : { servername: host }),
  } as tls.ConnectionOptions;
}

export interface TlsFiles {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  caFile?: string | undefined;
  /** A file holding the PSK as hex (whitespace ignored). */
  pskFile?: string | undefined;
  pskIdentity?: string | undefined;
  servername?: string | undefined;
}

/** Reads the files the CLI names into TlsSettings; undefined when none were given. */
export async function loadTlsFiles(files: TlsFiles): Promise<TlsSettings | undefined> {
  const read = async (path: string | undefined, what: string) => {
    if (!path) return undefined;
    try {
      return await readFile(path);
    } catch (err) {
      throw new TransportSpecError(`cannot read the ${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  if (files.pskFile) {
    if (files.certFile || files.keyFile || files.caFile) {
      throw new TransportSpecError('a pre-shared key excludes certificates: give --psk-file or --tls-cert/key/ca');
    }
    const text = (await read(files.pskFile, 'PSK file'))!.toString('utf8').replace(/\s+/g, '');
    if (!/^(?:[0-9a-f]{2})+$/i.test(text)) {
      throw new TransportSpecError(`the PSK file ${files.pskFile} must hold the key as hex digits`);
    }
    return { psk: { identity: files.pskIdentity ?? 'vfio-migrate', key: Buffer.from(text, 'hex') } };
  }
  if (!files.certFile && !files.keyFile && !files.caFile && !files.servername) return undefined;
  const settings: TlsSettings = {};
  const cert = await read(files.certFile, 'certificate');
  const key = await read(files.keyFile, 'key');
  const ca = await read(files.caFile, 'CA file');
  if (cert) settings.cert = cert;
  if (key) settings.key = key;
  if (ca) settings.ca = ca;
  if (files.servername) settings.servername = files.servername;
  return settings;
}
