import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runCli } from '../helpers/cli.ts';
import { newWorkload, waitForState } from '../helpers/workload.ts';

test('top piped: one table naming a real vfork D process with cause vfork, exit 0', async () => {
  const work = newWorkload();
  try {
    const s = await work.vfork(30);
    await waitForState([{ pid: s.pid, tid: s.pid }], 'D');
    const r = await runCli(['top', '--source', 'procfs'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^loadmon top .* procfs {2}by process$/);
    assert.match(lines[5]!, /SHARE +R +D +CAUSE +PID PROCESS/);
    const row = lines.find((l) => new RegExp(` ${s.pid} loadmon-loadgen$`).test(l));
    assert.ok(row, r.stdout);
    assert.match(row, /^ +[\d.]+% +0 +1 vfork +\d+ loadmon-loadgen$/);
    assert.ok(!lines.some((l) => /quit/.test(l)), 'no key line in a pipe');
  } finally {
    await work.stop();
  }
});

test('top: a bad --group or --interval exits 2 naming the option', async () => {
  const g = await runCli(['top', '--group', 'pids']);
  assert.equal(g.code, 2);
  assert.match(g.stderr, /--group/);
  const i = await runCli(['top', '--interval', '0']);
  assert.equal(i.code, 2);
  assert.match(i.stderr, /--interval/);
  // top is a view: the JSON is snapshot's.
  const j = await runCli(['top', '--json']);
  assert.equal(j.code, 2);
  assert.match(j.stderr, /--json/);
});
