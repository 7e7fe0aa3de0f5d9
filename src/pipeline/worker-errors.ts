// Errors cross the worker boundary as plain data and come back as the same typed error on the main thread, so a
// checksum failure found in a worker reaches the caller as the stream format's own error class, code and offset.
import * as errors from '../errors.ts';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  props: Record<string, unknown>;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), props: {} };
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (k === 'cause' || typeof v === 'function') continue;
    props[k] = v;
  }
  return { name: err.name, message: err.message, stack: err.stack, props };
}

const classes = new Map<string, new (...args: never[]) => Error>();
for (const value of Object.values(errors)) {
  if (typeof value === 'function' && value.prototype instanceof Error) {
    classes.set((value as { name: string }).name, value as new (...args: never[]) => Error);
  }
}

/** Rebuilds the error as an instance of its class (by name) without running its constructor. */
export function deserializeError(data: SerializedError): Error {
  const ctor = classes.get(data.name);
  const err: Error = ctor ? Object.create(ctor.prototype) : new Error(data.message);
  Object.defineProperty(err, 'message', { value: data.message, writable: true, configurable: true });
  if (data.stack) Object.defineProperty(err, 'stack', { value: data.stack, writable: true, configurable: true });
  Object.assign(err, data.props);
  return err;
}
