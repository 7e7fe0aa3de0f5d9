// The control connection of a migration, as an inbox of typed messages. Every wait has a deadline and honours the
// caller's AbortSignal; a lost connection or a peer's `failed` message ends every wait at once, and fires `failure`,
// so work under way on either side (a pre-copy round, a device write) stops instead of finishing for nothing.
import type net from 'node:net';
import {
  AbortedError,
  ConnectionLostError,
  PeerFailedError,
  PeerStalledError,
  type VfioMigrateError,
} from '../errors.ts';
import { type ControlMessage, type ControlType, encodeFrame, FrameReader } from './wire.ts';

type Of<T extends ControlType> = Extract<ControlMessage, { type: T }>;

interface Waiter {
  types: readonly ControlType[];
  resolve(m: ControlMessage): void;
  reject(e: Error): void;
}

export class ControlChannel {
  readonly peer: string;
  readonly #socket: net.Socket;
  readonly #reader: FrameReader;
  readonly #inbox: ControlMessage[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #failure = new AbortController();
  readonly #pongs = new Map<number, () => void>();
  #pingId = 0;
  #closed = false;
  /** What the peer said when it failed, if it did (`failed` message). */
  peerFailure: Of<'failed'> | null = null;

  constructor(socket: net.Socket, peer: string, initial?: Uint8Array) {
    this.peer = peer;
    this.#socket = socket;
    this.#reader = new FrameReader(peer);
    socket.on('data', (d: Buffer) => this.#receive(d));
    socket.on('error', (err) => this.#fail(this.#lost(err.message, err)));
    socket.on('close', () => this.#fail(this.#lost('the peer closed the control connection')));
    if (initial && initial.length > 0) this.#receive(initial);
    // an admission check may have paused the socket; a 'data' listener alone does not resume a paused stream
    socket.resume();
  }

  /** Fires (with the error as reason) when the connection is lost or the peer reports a failure. */
  get failure(): AbortSignal {
    return this.#failure.signal;
  }

  /** Sends one message; resolves when the kernel has it. */
  send(message: ControlMessage): Promise<void> {
    if (this.#closed || this.#socket.destroyed)
      return Promise.reject(this.#failure.signal.reason ?? this.#lost('closed'));
    return new Promise((resolve, reject) =>
      this.#socket.write(encodeFrame(message), (err) => (err ? reject(this.#lost(err.message, err)) : resolve())),
    );
  }

  /** Sends, ignoring a connection already gone (for last words: `failed`, `abort`). */
  async tell(message: ControlMessage): Promise<void> {
    await this.send(message).catch(() => {});
  }

  /**
   * The next message of one of `types` (taken from the inbox, in arrival order). Rejects on the deadline
   * (PeerStalledError), an abort, a lost connection, the peer's failure, or a message no state expects here.
   */
  next<T extends ControlType>(
    types: readonly T[],
    opts: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined; what?: string } = {},
  ): Promise<Of<T>> {
    const i = this.#inbox.findIndex((m) => (types as readonly ControlType[]).includes(m.type));
    if (i >= 0) return Promise.resolve(this.#inbox.splice(i, 1)[0] as Of<T>);
    if (this.#failure.signal.aborted) return Promise.reject(this.#failure.signal.reason);
    if (opts.signal?.aborted) return Promise.reject(new AbortedError(undefined, { cause: opts.signal.reason }));
    return new Promise<Of<T>>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        types,
        resolve: (m) => {
          done();
          resolve(m as Of<T>);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      const onAbort = () => waiter.reject(new AbortedError(undefined, { cause: opts.signal?.reason }));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs) {
        timer = setTimeout(
          () =>
            waiter.reject(
              new PeerStalledError(
                this.peer,
                this.#socket.bytesRead,
                'idle',
                `no ${opts.what ?? types.join('/')} message within ${opts.timeoutMs} ms`,
              ),
            ),
          opts.timeoutMs,
        );
      }
      this.#waiters.add(waiter);
    });
  }

  /** Every queued message of `type`, without waiting. */
  drain<T extends ControlType>(type: T): Of<T>[] {
    const taken: Of<T>[] = [];
    for (let i = 0; i < this.#inbox.length; ) {
      if (this.#inbox[i]!.type === type) taken.push(this.#inbox.splice(i, 1)[0] as Of<T>);
      else i++;
    }
    return taken;
  }

  /** The round-trip time to the peer, in ms (it answers pings on its own). */
  async ping(timeoutMs: number, signal?: AbortSignal): Promise<number> {
    if (this.#failure.signal.aborted) throw this.#failure.signal.reason;
    if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
    const id = ++this.#pingId;
    const t0 = performance.now();
    const answered = new Promise<void>((resolve, reject) => {
      const onFailure = () => finish(this.#failure.signal.reason);
      const onAbort = () => finish(new AbortedError(undefined, { cause: signal?.reason }));
      const timer = setTimeout(
        () => finish(new PeerStalledError(this.peer, this.#socket.bytesRead, 'idle', `no pong within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const finish = (err?: unknown) => {
        clearTimeout(timer);
        this.#pongs.delete(id);
        this.#failure.signal.removeEventListener('abort', onFailure);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      this.#pongs.set(id, () => finish());
      this.#failure.signal.addEventListener('abort', onFailure, { once: true });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // A send that fails ends the ping with its own error, and the same loss then rejects the wait for the answer:
    // that rejection is already reported, and must not surface as an unhandled one (it ended a Deno test run, and
    // would end a Node process).
    answered.catch(() => {});
    await this.send({ type: 'ping', id });
    await answered;
    return performance.now() - t0;
  }

  /** Ends the connection (after what was sent has left). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      if (this.#socket.destroyed) return resolve();
      const t = setTimeout(() => {
        this.#socket.destroy();
        resolve();
      }, 2_000);
      this.#socket.end(() => {
        clearTimeout(t);
        resolve();
      });
    });
    this.#socket.destroy();
  }

  #receive(bytes: Uint8Array): void {
    let messages: ControlMessage[];
    try {
      messages = this.#reader.push(bytes);
    } catch (err) {
      this.#fail(err as VfioMigrateError);
      this.#socket.destroy();
      return;
    }
    for (const m of messages) {
      if (m.type === 'ping') {
        void this.send({ type: 'pong', id: m.id }).catch(() => {});
        continue;
      }
      if (m.type === 'pong') {
        this.#pongs.get(m.id)?.();
        this.#pongs.delete(m.id);
        continue;
      }
      if (m.type === 'failed') {
        this.peerFailure = m;
        this.#fail(
          new PeerFailedError(
            this.peer,
            { code: m.code, message: `${m.message} (in ${m.phase})` },
            'the peer',
            'failed',
          ),
        );
        continue;
      }
      const waiter = [...this.#waiters].find((w) => w.types.includes(m.type));
      if (waiter) waiter.resolve(m);
      else this.#inbox.push(m);
    }
  }

  #lost(detail: string, cause?: Error): ConnectionLostError {
    return new ConnectionLostError(this.peer, this.#socket.bytesRead, detail, cause ? { cause } : undefined);
  }

  #fail(err: Error): void {
    if (this.#failure.signal.aborted) return;
    // a peer that said why it failed has the last word; its closing the connection afterwards says nothing new
    this.#failure.abort(err);
    for (const w of [...this.#waiters]) w.reject(err);
  }
}
