// `sim:PROFILE[,key=value...]` (the part after `sim:`) to a running simulated device backend.
import type { OpenDeviceOptions } from '../open-device.ts';
import { SimBackend } from './sim-backend.ts';
import { parseSimSpec } from './sim-spec.ts';

export async function openSimBackend(rest: string, opts: OpenDeviceOptions = {}): Promise<SimBackend> {
  return SimBackend.open(parseSimSpec(rest), opts);
}
