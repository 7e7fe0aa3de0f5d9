// Helper for the real-device suite: opens a device, starts saving it (STOP_COPY, a few bytes read), says READY and
// waits to be killed, so the suite can prove what a dead saver leaves behind and that `recover` fixes it.
import process from 'node:process';
import { openDevice } from '../../src/device/open-device.ts';
import { DeviceState } from '../../src/fsm/index.ts';

const path = process.argv[2] ?? (globalThis as unknown as { Deno?: { args: string[] } }).Deno?.args[0];
if (!path) throw new Error('usage: hold-in-stop-copy.ts /dev/vfio/devices/vfioN');
const device = await openDevice(`vfio:${path}`);
const { opened } = await device.setState(DeviceState.STOP_COPY);
if (opened?.kind !== 'saving') throw new Error('STOP_COPY opened no saving session');
await opened.read(new Uint8Array(16));
process.stdout.write('READY\n');
setInterval(() => {}, 60_000);
