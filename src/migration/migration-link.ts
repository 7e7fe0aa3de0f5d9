// The connections of one migration. The source dials the destination's listener: first the control connection,
// then (after the handshake) one data connection per device, so the devices' streams move in parallel and none
// waits behind another. Every connection announces itself in its first bytes; the listener refuses anything else,
// and anything that is not this migration's, and keeps waiting for the right peer until its deadline.
import type net from 'node:net';
import { MigrationProtocolError, throwIfAborted } from '../errors.ts';
import type { ByteSink, ByteSource } from '../pipeline/byte-endpoints.ts';
import type { OpenTransportOptions } from '../transport/open-transport.ts';
import { type LinkRateLimiter, rateLimitedSink } from '../transport/rate-limit.ts';
import {
  connectSocket,
  peekBytes,
  SocketListener,
  type SocketSpec,
  socketSink,
  socketSource,
} from '../transport/socket-transport.ts';
import { formatTransportSpec, parseTransportSpec, type TransportSpec } from '../transport/transport-spec.ts';
import { ControlChannel } from './control-channel.ts';
import {
  CONTROL_PREAMBLE,
  DATA_PREAMBLE,
  DATA_PREAMBLE_SIZE,
  dataPreamble,
  hexId,
  PREAMBLE_SIZE,
  samePrefix,
} from './wire.ts';

export interface LinkOptions extends Omit<OpenTransportOptions, 'listen' | 'admit'> {
  /** Shared by every data connection of the link (`--max-bandwidth`). */
  limiter?: LinkRateLimiter | undefined;
}

function socketSpecOf(spec: string | TransportSpec): SocketSpec {
  const t = typeof spec === 'string' ? parseTransportSpec(spec) : spec;
  if (t.kind !== 'tcp' && t.kind !== 'unix') {
    throw new MigrationProtocolError(
      formatTransportSpec(t),
      'a migration needs a two-way connection: tcp://HOST:PORT, tls://HOST:PORT or unix:PATH',
    );
  }
  return t;
}

const write = (socket: net.Socket, bytes: Uint8Array) =>
  new Promise<void>((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));

/** The source's side: the control channel, and data sinks opened one per device. */
export class SourceLink {
  readonly control: ControlChannel;
  readonly endpoint: string;
  readonly #spec: SocketSpec;
  readonly #opts: LinkOptions;
  readonly #sockets: net.Socket[] = [];

  private constructor(control: ControlChannel, spec: SocketSpec, opts: LinkOptions, socket: net.Socket) {
    this.control = control;
    this.#spec = spec;
    this.#opts = opts;
    this.endpoint = formatTransportSpec(spec);
    this.#sockets.push(socket);
  }

  /** Connects the control connection (retrying while nobody listens, up to the connect deadline). */
  static async connect(to: string | TransportSpec, opts: LinkOptions = {}): Promise<SourceLink> {
    const spec = socketSpecOf(to);
    const socket = await connectSocket(spec, opts);
    await write(socket, CONTROL_PREAMBLE);
    return new SourceLink(new ControlChannel(socket, formatTransportSpec(spec)), spec, opts, socket);
  }

  /** A data connection for device `index` of migration `migrationId`, as a sink for its stream. */
  async openData(migrationId: Uint8Array, index: number): Promise<ByteSink> {
    throwIfAborted(this.#opts.signal);
    const socket = await connectSocket(this.#spec, { ...this.#opts, connectTimeoutMs: this.#opts.connectTimeoutMs });
    this.#sockets.push(socket);
    await write(socket, dataPreamble(migrationId, index));
    // No minimum rate here: between rounds a device may have little to send; the control channel's pings and the
    // idle limit watch the peer instead.
    // The end of a device's stream is its FIN; how the load went comes over the control connection.
    const sink = socketSink(socket, `${this.endpoint} (device ${index})`, {
      ...this.#opts,
      minRate: 0,
      awaitPeerClose: false,
    });
    return this.#opts.limiter ? rateLimitedSink(sink, this.#opts.limiter) : sink;
  }

  /** Tears every connection down (after a failure, or once the migration is done). */
  destroy(): void {
    for (const s of this.#sockets) s.destroy();
  }
}

type Arrival = { kind: 'control' } | { kind: 'data'; migrationId: string; index: number };

/**
 * What a connection to a destination says it is, from its first bytes. One peek takes the longest preamble (or stops
 * once the bytes decide) and only what is not preamble goes back: peeking a socket a second time after putting bytes
 * back leaves Deno's node:net socket silent for its next reader.
 */
async function classify(socket: net.Socket, signal: AbortSignal): Promise<Arrival> {
  const head = await peekBytes(
    socket,
    DATA_PREAMBLE_SIZE,
    signal,
    (have) =>
      (have.length >= PREAMBLE_SIZE && samePrefix(have, CONTROL_PREAMBLE)) ||
      (!samePrefix(have, CONTROL_PREAMBLE) && !samePrefix(have, DATA_PREAMBLE)),
  );
  if (head.length >= PREAMBLE_SIZE && samePrefix(head, CONTROL_PREAMBLE)) {
    if (head.length > PREAMBLE_SIZE) socket.unshift(head.subarray(PREAMBLE_SIZE));
    return { kind: 'control' };
  }
  if (head.length === DATA_PREAMBLE_SIZE && samePrefix(head, DATA_PREAMBLE)) {
    const rest = head.subarray(PREAMBLE_SIZE);
    return {
      kind: 'data',
      migrationId: hexId(rest.subarray(0, 16)),
      index: new DataView(rest.buffer, rest.byteOffset, rest.byteLength).getUint32(16, true),
    };
  }
  socket.unshift(head);
  const text = new TextDecoder().decode(head.subarray(0, PREAMBLE_SIZE));
  throw new Error(
    `not a vfio-migrate migration peer (it starts with ${/^[\x20-\x7e]+$/.test(text) ? JSON.stringify(text) : 'other bytes'})`,
  );
}

/** The destination's side: a listener that takes this migration's control connection, then its data connections. */
export class DestinationLink {
  readonly listener: SocketListener<Arrival>;
  readonly #opts: LinkOptions;
  readonly #sockets: net.Socket[] = [];

  private constructor(listener: SocketListener<Arrival>, opts: LinkOptions) {
    this.listener = listener;
    this.#opts = opts;
  }

  static async listen(at: string | TransportSpec, opts: LinkOptions = {}): Promise<DestinationLink> {
    const listener = await SocketListener.open<Arrival>(socketSpecOf(at), { ...opts, admit: classify });
    return new DestinationLink(listener, opts);
  }

  get address(): string {
    return this.listener.address;
  }

  /** The control connection of the next source (a data connection first belongs to no migration here: dropped). */
  async acceptControl(timeoutMs: number | undefined): Promise<ControlChannel> {
    for (;;) {
      const peer = await this.listener.next({ timeoutMs, signal: this.#opts.signal });
      if (peer.value.kind !== 'control') {
        this.#refuse(peer.socket, peer.name, 'a data connection before any migration was agreed');
        continue;
      }
      this.#sockets.push(peer.socket);
      return new ControlChannel(peer.socket, peer.name);
    }
  }

  /** The data connections of migration `migrationId`, one per device, as stream sources by device index. */
  async acceptData(migrationId: string, count: number, timeoutMs: number | undefined): Promise<ByteSource[]> {
    const sources: ByteSource[] = [];
    let found = 0;
    while (found < count) {
      const peer = await this.listener.next({ timeoutMs, signal: this.#opts.signal });
      const v = peer.value;
      if (v.kind !== 'data' || v.migrationId !== migrationId || v.index >= count || sources[v.index]) {
        this.#refuse(
          peer.socket,
          peer.name,
          v.kind === 'data' ? 'a data connection of another migration' : 'a second migration while one is under way',
        );
        continue;
      }
      this.#sockets.push(peer.socket);
      sources[v.index] = socketSource(peer.socket, `${peer.name} (device ${v.index})`, { ...this.#opts, minRate: 0 });
      found++;
    }
    return sources;
  }

  #refuse(socket: net.Socket, name: string, reason: string): void {
    socket.destroy();
    this.#opts.onRefused?.(name, reason);
  }

  /** Stops listening and tears every connection down. */
  async close(): Promise<void> {
    await this.listener.close();
    for (const s of this.#sockets) s.destroy();
  }
}
