import { describe, expect, it } from 'vitest';
import { transitionTable } from '../../src/fsm/index.ts';
import { runCliCaptured } from '../helpers/cli-io.ts';

describe('vfio-migrate fsm', () => {
  it('prints the whole table as one JSON object with a key for every ordered pair', async () => {
    const r = await runCliCaptured(['fsm', '--flags', 'stop-copy,p2p', '--json']);
    expect(r.code).toBe(0);
    const table = JSON.parse(r.out);
    expect(table.flags).toEqual(['stop-copy', 'p2p']);
    expect(Object.keys(table.paths)).toHaveLength(64);
    expect(table.paths['RUNNING>STOP']).toEqual(['RUNNING_P2P', 'STOP']);
    expect(table.paths['STOP>STOP']).toEqual([]);
    expect(table.paths['RUNNING>PRE_COPY']).toBeNull();
    expect(table.paths['ERROR>RUNNING']).toBeNull();
    expect(table).toEqual({ ok: true, command: 'fsm', ...transitionTable(3) });
  });

  it('defaults to all three flags', async () => {
    const r = await runCliCaptured(['fsm', '--json']);
    expect(JSON.parse(r.out).flags).toEqual(['stop-copy', 'p2p', 'pre-copy']);
  });

  it('prints one path', async () => {
    const r = await runCliCaptured(['fsm', 'RUNNING', 'STOP_COPY']);
    expect(r).toMatchObject({ code: 0, out: 'RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY\n' });
    const j = await runCliCaptured(['fsm', 'resuming', '2', '--json']);
    expect(JSON.parse(j.out)).toMatchObject({
      from: 'RESUMING',
      to: 'RUNNING',
      path: ['STOP', 'RUNNING_P2P', 'RUNNING'],
    });
  });

  it('exits 1 with the error code for a refused request', async () => {
    const r = await runCliCaptured(['fsm', 'STOP_COPY', 'PRE_COPY']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('VFM_TRANSITION_REJECTED');
  });

  it('renders the human table and the DOT and Mermaid pictures', async () => {
    const t = await runCliCaptured(['fsm', '--flags', 'stop-copy']);
    expect(t.out).toMatch(/^flags: stop-copy\n/);
    expect(t.out).toContain('RUNNING');
    const dot = await runCliCaptured(['fsm', '--format', 'dot', '--flags', 'stop-copy,pre-copy']);
    expect(dot.out).toMatch(/^digraph vfio_migration/);
    expect(dot.out).toContain('RUNNING -> PRE_COPY [label="opens saving fd", style=bold];');
    expect(dot.out).toContain('PRE_COPY -> STOP_COPY;');
    expect(dot.out).not.toContain('RUNNING_P2P');
    const mer = await runCliCaptured(['fsm', '--format', 'mermaid']);
    expect(mer.out).toMatch(/^stateDiagram-v2/);
    expect(mer.out).toContain('STOP --> RESUMING : opens resuming fd');
  });

  it('rejects bad input with exit 2 and a typed code', async () => {
    const unknownFlag = await runCliCaptured(['fsm', '--flags', 'bogus', '--json']);
    expect(unknownFlag.code).toBe(2);
    expect(JSON.parse(unknownFlag.out)).toMatchObject({ ok: false, error: { code: 'VFM_UNKNOWN_FLAG' } });
    const noSc = await runCliCaptured(['fsm', '--flags', 'p2p']);
    expect(noSc.err).toContain('VFM_FLAGS_NO_STOP_COPY');
    const badState = await runCliCaptured(['fsm', 'RUN', 'STOP']);
    expect(badState.err).toContain('VFM_UNKNOWN_STATE');
    const usage = await runCliCaptured(['fsm', '--nope']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('VFM_USAGE');
    const unknownCmd = await runCliCaptured(['frobnicate']);
    expect(unknownCmd.code).toBe(2);
  });
});
