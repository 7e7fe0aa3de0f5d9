// `vfio-migrate sim`: the simulated device profiles, one spec resolved, and a save/resume round trip between two
// simulated devices (through real fds) that reports both state digests.

import { openDevice } from '../device/open-device.ts';
import { PAGE_KIND_NAMES, SIM_PROFILES } from '../device/sim/profiles.ts';
import { formatSimSpec, formatSize, parseSimSpec, SIM_SPEC_KEYS } from '../device/sim/sim-spec.ts';
import { READ_DRAINED, READ_END } from '../device/types.ts';
import { UsageError } from '../errors.ts';
import { flagNames } from '../fsm/index.ts';
import { type CliIo, defineCommand, toJson } from './command.ts';

const usage = `usage: vfio-migrate sim list [--json]
       vfio-migrate sim show PROFILE[,key=value...] [--json]
       vfio-migrate sim roundtrip PROFILE[,key=value...] [--to SPEC] [--json]

Simulated devices: each profile is deterministic from its seed, moves its migration data through real fds (a UNIX
socket to a worker thread), and can inject faults. Wherever a command takes --device, sim:PROFILE[,key=value...]
selects one, e.g. sim:gpu,size=2g,seed=7.

  list       the profiles, their defaults, and the spec keys
  show       the configuration a spec resolves to
  roundtrip  save one device and resume another with the same configuration (or --to SPEC); prints both state
             digests (equal when the destination holds exactly the source's state) and exits 1 if they differ`;

function profilesTable(): string {
  const rows = [['PROFILE', 'SIZE', 'FLAGS', 'DIRTY', 'MODELLED ON', 'WHAT']];
  for (const p of SIM_PROFILES) {
    rows.push([
      p.name,
      `${formatSize(p.defaultSize)}${p.fixedSize ? ' (fixed)' : ''}`,
      flagNames(p.defaultFlags).join('+'),
      p.defaultDirtyRate > 0 ? `${formatSize(p.defaultDirtyRate)}/s` : '0',
      p.modelledOn,
      p.summary,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  const keyWidth = Math.max(...SIM_SPEC_KEYS.map(([k]) => k.length));
  return [
    ...lines,
    '',
    'spec: sim:PROFILE[,key=value...]   sizes take k/m/g/t (binary), e.g. sim:gpu,size=2g,seed=7',
    ...SIM_SPEC_KEYS.map(([k, help]) => `  ${k.padEnd(keyWidth)}  ${help}`),
    '',
  ].join('\n');
}

function describeSpec(rest: string) {
  const c = parseSimSpec(rest);
  return {
    spec: formatSimSpec(c),
    profile: c.profile.name,
    modelledOn: c.profile.modelledOn,
    size: c.size,
    pages: c.pageCount,
    seed: c.seed,
    flags: flagNames(c.flags),
    dirtyRate: c.dirtyRate,
    clock: c.clock,
    layout: c.profile.layout.map((r) => ({ kind: PAGE_KIND_NAMES[r.kind], share: r.share, hot: r.hot, role: r.role })),
    faults: Object.fromEntries(
      Object.entries(c.faults).filter(
        ([k, v]) => v !== undefined && v !== false && !(k === 'failArcMode' && v === 'stay'),
      ),
    ),
  };
}

const stripSim = (spec: string) => (spec.startsWith('sim:') ? spec.slice(4) : spec);

async function roundtrip(fromSpec: string, toSpec: string, json: boolean, io: CliIo): Promise<number> {
  const started = performance.now();
  const src = await openDevice(`sim:${stripSim(fromSpec)}`, { role: 'source', signal: io.signal });
  try {
    const dst = await openDevice(`sim:${stripSim(toSpec)}`, { role: 'destination', signal: io.signal });
    try {
      const signal = io.signal;
      await src.setState('STOP_COPY', { signal });
      await dst.setState('RESUMING', { signal });
      const buf = new Uint8Array(1 << 20);
      let bytes = 0;
      for (;;) {
        const n = await src.savingSession!.read(buf, { signal });
        if (n === READ_END || n === READ_DRAINED) break;
        await dst.resumingSession!.write(buf.subarray(0, n), { signal });
        bytes += n;
      }
      await src.setState('STOP', { signal });
      await dst.setState('STOP', { signal });
      const sourceDigest = await src.stateDigest({ signal });
      const digest = await dst.stateDigest({ signal });
      const seconds = (performance.now() - started) / 1000;
      const equal = sourceDigest === digest;
      if (json) {
        const elapsedMs = Math.round(seconds * 1000);
        const fields = { source: src.id, destination: dst.id, bytes, elapsedMs, sourceDigest, digest };
        io.out(`${toJson({ ok: equal, command: 'sim', ...fields })}\n`);
      } else {
        io.out(
          `source       ${src.id}\n  digest     ${sourceDigest}\ndestination  ${dst.id}\n  digest     ${digest}\n` +
            `${bytes} bytes in ${seconds.toFixed(2)} s (${(bytes / 1048576 / seconds).toFixed(0)} MiB/s): ` +
            `${equal ? 'digests equal' : 'DIGESTS DIFFER'}\n`,
        );
      }
      return equal ? 0 : 1;
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

const PROFILE_NAMES = SIM_PROFILES.map((p) => p.name);

export const simCommand = defineCommand({
  name: 'sim',
  summary: 'simulated devices: list the profiles, resolve a spec, run a save/resume round trip',
  usage,
  options: {
    json: { type: 'boolean', default: false },
    to: { type: 'string' },
  },
  optionValues: { to: PROFILE_NAMES },
  positionals: [['list', 'show', 'roundtrip'], PROFILE_NAMES],
  async run({ values, positionals }, io) {
    const [sub, arg, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    switch (sub) {
      case 'list':
        if (arg !== undefined) throw new UsageError('sim list takes no argument');
        if (values.json) {
          const profiles = SIM_PROFILES.map((p) => ({
            name: p.name,
            summary: p.summary,
            modelledOn: p.modelledOn,
            defaultSize: p.defaultSize,
            fixedSize: p.fixedSize,
            flags: flagNames(p.defaultFlags),
            dirtyRate: p.defaultDirtyRate,
            layout: p.layout.map((r) => ({ kind: PAGE_KIND_NAMES[r.kind], share: r.share, hot: r.hot, role: r.role })),
          }));
          io.out(`${toJson({ ok: true, command: 'sim', profiles, keys: Object.fromEntries(SIM_SPEC_KEYS) })}\n`);
        } else io.out(profilesTable());
        return 0;
      case 'show': {
        if (arg === undefined) throw new UsageError('sim show needs a spec, e.g. sim show gpu,size=2g');
        const d = describeSpec(stripSim(arg));
        if (values.json) io.out(`${toJson({ ok: true, command: 'sim', ...d })}\n`);
        else {
          const lines = [
            `spec         ${d.spec}`,
            `profile      ${d.profile} (modelled on ${d.modelledOn})`,
            `size         ${formatSize(d.size)} (${d.pages} pages of 4 KiB)`,
            `seed         ${d.seed}`,
            `flags        ${d.flags.join('+')}`,
            `dirty        ${d.dirtyRate > 0 ? `${formatSize(d.dirtyRate)}/s` : '0'} (clock ${d.clock})`,
            `layout       ${d.layout.map((r) => `${Math.round(r.share * 100)}% ${r.kind}${r.hot ? '*' : ''} (${r.role})`).join(', ')}`,
            `faults       ${
              Object.keys(d.faults).length === 0
                ? 'none'
                : Object.entries(d.faults)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')
            }`,
          ];
          io.out(`${lines.join('\n')}\n`);
        }
        return 0;
      }
      case 'roundtrip': {
        if (arg === undefined) throw new UsageError('sim roundtrip needs a spec, e.g. sim roundtrip nic');
        return roundtrip(arg, values.to ?? arg, values.json, io);
      }
      default:
        throw new UsageError(
          sub === undefined
            ? 'sim needs a subcommand: list, show or roundtrip'
            : `unknown sim subcommand ${JSON.stringify(sub)}`,
        );
    }
  },
});
