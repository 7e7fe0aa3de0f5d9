// What goes over a migration's connections. The source opens one control connection and one data connection per
// device to the destination's listener. Each starts with an 8-byte preamble saying which it is, so the listener
// refuses anything else at once; a data connection then names its migration and device, and carries that device's
// migration stream (FORMAT.md) unchanged. Control messages are length-prefixed JSON.
//
//   control:  'VFMMCTRL', then frames: u32 length (little-endian), UTF-8 JSON {type, ...}
//   data:     'VFMMDATA', 16-byte migration id, u32 device index, then the device's stream
import { MigrationProtocolError } from '../errors.ts';

/** The control protocol's version: a destination refuses another major version in the handshake, with both ends told. */
export const PROTOCOL_VERSION = 1;
export const PROTOCOL_NAME = 'vfio-migrate/migration';

export const CONTROL_PREAMBLE = new TextEncoder().encode('VFMMCTRL');
export const DATA_PREAMBLE = new TextEncoder().encode('VFMMDATA');
export const PREAMBLE_SIZE = 8;
export const DATA_PREAMBLE_SIZE = PREAMBLE_SIZE + 16 + 4;
/** The largest control message accepted (a handshake of many devices is a few KiB). */
export const MAX_CONTROL_FRAME = 1 << 20;

/** One device as the handshake describes it. */
export interface DeviceDescription {
  index: number;
  id: string;
  kind: string;
  /** VFIO migration flags (STOP_COPY=1, P2P=2, PRE_COPY=4). */
  flags: number;
  /** The facts two ends must agree on for a device's state to move (profile, driver, model, size...). */
  identity: Record<string, string>;
  /** MIG_DATA_SIZE when the handshake was made, where the device gives one. */
  stopCopySize: number | null;
}

export interface StreamSettings {
  codec: string;
  level: number | undefined;
  chunking: string;
  chunkSize: number | undefined;
}

export type ControlMessage =
  | {
      type: 'hello';
      protocol: string;
      version: number;
      migrationId: string;
      devices: DeviceDescription[];
      stream: StreamSettings;
      precopy: boolean;
    }
  | { type: 'welcome'; version: number; devices: DeviceDescription[] }
  | { type: 'refused'; code: string; message: string; version?: number }
  /** The source read all of a device's initial pre-copy data; it ends at this raw offset of its stream. */
  | { type: 'initial-done'; device: number; rawOffset: number }
  /** The destination wrote a device's initial data into it, and the device took it: switching over may go on. */
  | { type: 'switchover-ack'; device: number; arcMs?: number }
  | { type: 'ping'; id: number }
  | { type: 'pong'; id: number }
  /** The source stops its devices now: the stop-copy parts follow on the data connections. */
  | { type: 'switchover'; at: number }
  /** Every destination device validated its state (RESUMING -> STOP): it may start when the source says go. */
  | { type: 'ready'; finishMs: number; states: string[]; digests: (string | null)[] }
  /** The source commits: from here on it never restarts its devices; the destination starts its own. */
  | { type: 'go' }
  /** Every destination device is RUNNING. */
  | { type: 'started'; startMs: number; states: string[] }
  /** Either side failed (or aborts) before the commit: the other rolls back. */
  | { type: 'failed'; code: string; message: string; phase: string; states: string[] };

export type ControlType = ControlMessage['type'];

export function encodeFrame(message: ControlMessage): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(message));
  const frame = new Uint8Array(4 + json.length);
  new DataView(frame.buffer).setUint32(0, json.length, true);
  frame.set(json, 4);
  return frame;
}

/**
 * Splits received bytes into control messages. Anything that is not a well-formed frame of a JSON object with a
 * known `type` is a protocol error: the peer is not a vfio-migrate peer, or a broken one.
 */
export class FrameReader {
  #buf = new Uint8Array(0);
  readonly #peer: string;

  constructor(peer: string) {
    this.#peer = peer;
  }

  push(bytes: Uint8Array): ControlMessage[] {
    const joined = new Uint8Array(this.#buf.length + bytes.length);
    joined.set(this.#buf);
    joined.set(bytes, this.#buf.length);
    const out: ControlMessage[] = [];
    let at = 0;
    const dv = new DataView(joined.buffer);
    while (joined.length - at >= 4) {
      const n = dv.getUint32(at, true);
      if (n === 0 || n > MAX_CONTROL_FRAME) {
        throw new MigrationProtocolError(this.#peer, `a control frame of ${n} bytes (not a vfio-migrate peer?)`);
      }
      if (joined.length - at - 4 < n) break;
      let message: unknown;
      try {
        message = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(joined.subarray(at + 4, at + 4 + n)));
      } catch {
        throw new MigrationProtocolError(this.#peer, 'a control frame that is not JSON (not a vfio-migrate peer?)');
      }
      if (typeof message !== 'object' || message === null || typeof (message as { type?: unknown }).type !== 'string') {
        throw new MigrationProtocolError(this.#peer, 'a control message without a type');
      }
      out.push(message as ControlMessage);
      at += 4 + n;
    }
    this.#buf = joined.slice(at);
    return out;
  }
}

export function dataPreamble(migrationId: Uint8Array, index: number): Uint8Array {
  const out = new Uint8Array(DATA_PREAMBLE_SIZE);
  out.set(DATA_PREAMBLE, 0);
  out.set(migrationId, PREAMBLE_SIZE);
  new DataView(out.buffer).setUint32(PREAMBLE_SIZE + 16, index, true);
  return out;
}

export function samePrefix(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const hexId = (id: Uint8Array) => Array.from(id, (b) => b.toString(16).padStart(2, '0')).join('');
