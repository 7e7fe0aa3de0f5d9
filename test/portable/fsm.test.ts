// Runs under Deno (npm run test:deno): the state machine and the CLI table behave the same as under Node.
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/run-cli.ts';
import { transitionPath, transitionTable } from '../../src/fsm/index.ts';

declare const Deno: { test(name: string, fn: () => void | Promise<void>): void };

Deno.test('fsm: RUNNING to STOP_COPY steps through RUNNING_P2P and STOP on a P2P device', () => {
  assert.deepEqual(transitionPath(7, 2, 3), { ok: true, path: [5, 1, 3] });
  assert.deepEqual(transitionPath(1, 2, 3), { ok: true, path: [1, 3] });
  assert.deepEqual(transitionPath(7, 3, 6), { ok: false, reason: 'blocked' });
});

Deno.test('fsm: the JSON table from the CLI equals the library table', async () => {
  let out = '';
  const code = await runCli(['fsm', '--flags', 'stop-copy,pre-copy', '--json'], {
    out: (t) => {
      out += t;
    },
    err: () => {},
    errIsTTY: false,
    env: {},
    signal: new AbortController().signal,
  });
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out), { ok: true, command: 'fsm', ...transitionTable(5) });
});
