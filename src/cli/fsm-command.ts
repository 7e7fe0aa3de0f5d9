// `vfio-migrate fsm`: the transition table, one path, or a picture of the arcs, for a flag set.
import { UsageError } from '../errors.ts';
import {
  ALL_STATES,
  arcSessionEffect,
  DeviceState,
  flagNames,
  parseFlags,
  parseState,
  requirePath,
  singleArcs,
  stateName,
  supportsState,
  transitionTable,
} from '../fsm/index.ts';
import { defineCommand, toJson } from './command.ts';

const usage = `usage: vfio-migrate fsm [FROM TO] [--flags stop-copy,p2p,pre-copy] [--json] [--format table|dot|mermaid]

Without FROM and TO, prints the whole combination-transition table the kernel uses for the flag set; with them,
the states the device steps through. States by name (RUNNING, stop-copy, ...) or uAPI number. --flags defaults to
all three (stop-copy,p2p,pre-copy). --format dot|mermaid draws the single arcs (saving-session arcs marked).`;

function renderTable(flags: number): string {
  const table = transitionTable(flags);
  const rows: string[][] = [['FROM \\ TO', ...ALL_STATES.map(stateName)]];
  for (const from of ALL_STATES) {
    const row: string[] = [stateName(from)];
    for (const to of ALL_STATES) {
      const p = table.paths[`${stateName(from)}>${stateName(to)}`];
      row.push(p === null || p === undefined ? '-' : p.length === 0 ? '=' : p.map(abbrev).join(' '));
    }
    rows.push(row);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const legend = ALL_STATES.map((s) => `${abbrev(stateName(s))}=${stateName(s)}`).join(' ');
  return `flags: ${table.flags.join(',')}\n${lines.join('\n')}\n\ncells: states stepped through; '=' already there; '-' refused (EINVAL)\n${legend}\n`;
}

function abbrev(name: string): string {
  const map: Record<string, string> = {
    ERROR: 'ERR',
    STOP: 'S',
    RUNNING: 'R',
    STOP_COPY: 'SC',
    RESUMING: 'RES',
    RUNNING_P2P: 'RP2P',
    PRE_COPY: 'PC',
    PRE_COPY_P2P: 'PCP2P',
  };
  return map[name] ?? name;
}

function renderGraph(flags: number, format: 'dot' | 'mermaid'): string {
  const states = ALL_STATES.filter((s) => s !== DeviceState.ERROR && supportsState(flags, s)).map(stateName);
  const arcs = singleArcs(flags).map(([a, b]) => ({ a: stateName(a), b: stateName(b), fx: arcSessionEffect(a, b) }));
  const label = (fx: ReturnType<typeof arcSessionEffect>) =>
    fx.opens ? `opens ${fx.opens} fd` : fx.closes ? `ends ${fx.closes} fd` : '';
  if (format === 'dot') {
    const lines = [`digraph vfio_migration { // flags: ${flagNames(flags).join(',')}`, '  rankdir=LR;'];
    for (const s of states) lines.push(`  ${s}${s === 'RUNNING' ? ' [shape=doublecircle]' : ''};`);
    for (const { a, b, fx } of arcs) {
      const l = label(fx);
      lines.push(`  ${a} -> ${b}${l ? ` [label="${l}"${fx.opens ? ', style=bold' : ''}]` : ''};`);
    }
    lines.push('}');
    return `${lines.join('\n')}\n`;
  }
  const lines = ['stateDiagram-v2', `  %% flags: ${flagNames(flags).join(',')}`, '  [*] --> RUNNING'];
  for (const { a, b, fx } of arcs) {
    const l = label(fx);
    lines.push(`  ${a} --> ${b}${l ? ` : ${l}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export const fsmCommand = defineCommand({
  name: 'fsm',
  summary: 'show the migration state machine: the transition table, one path, or a graph',
  usage,
  options: {
    flags: { type: 'string', default: 'stop-copy,p2p,pre-copy' },
    json: { type: 'boolean', default: false },
    format: { type: 'string', default: 'table' },
  },
  optionValues: {
    flags: ['stop-copy', 'stop-copy,p2p', 'stop-copy,pre-copy', 'stop-copy,p2p,pre-copy'],
    format: ['table', 'dot', 'mermaid'],
  },
  positionals: ['state', 'state'],
  async run({ values, positionals }, io) {
    const flags = parseFlags(values.flags);
    const format = values.format;
    if (format !== 'table' && format !== 'dot' && format !== 'mermaid') {
      throw new UsageError(`unknown --format ${JSON.stringify(format)}: expected table, dot or mermaid`);
    }
    if (positionals.length === 2) {
      const from = parseState(positionals[0]!);
      const to = parseState(positionals[1]!);
      // a refused request fails (exit 1, VFM_TRANSITION_REJECTED), in --json too
      const path = requirePath(flags, from, to).map(stateName);
      if (values.json) {
        const result = { flags: flagNames(flags), from: stateName(from), to: stateName(to), path };
        io.out(`${toJson({ ok: true, command: 'fsm', ...result })}\n`);
      } else io.out(`${[stateName(from), ...path].join(' -> ')}\n`);
      return 0;
    }
    if (positionals.length !== 0) throw new UsageError('fsm takes no arguments, or FROM and TO');
    if (values.json) io.out(`${toJson({ ok: true, command: 'fsm', ...transitionTable(flags) })}\n`);
    else io.out(format === 'table' ? renderTable(flags) : renderGraph(flags, format));
    return 0;
  },
});
