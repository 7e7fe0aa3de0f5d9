// Transports: where a stream comes from and goes to (files, stdio and pipes, TCP, UNIX sockets, TLS).
export { type OpenTransportOptions, openSink, openSource } from './open-transport.ts';
export { LinkRateLimiter, parseRate, rateLimitedSink } from './rate-limit.ts';
export { type AdmittedPeer, type ListenerOptions, SocketListener } from './socket-transport.ts';
export { loadTlsFiles, type TlsFiles, type TlsPsk, type TlsSettings } from './tls-config.ts';
export { DEFAULT_HOST, formatTransportSpec, parseTransportSpec, type TransportSpec } from './transport-spec.ts';
