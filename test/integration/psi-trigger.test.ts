/**
 * PSI triggers for real: three busy loops on this 2-CPU machine make CPU
 * pressure; the kernel's PSI event (waited for by the native waiter) fires a
 * capture while load1 is far below the threshold, and the capture says so in
 * JSON, in the store and in `report --capture`. Needs `npm run build` (dist/
 * and dist/native/loadmon-wait).
 */

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Snapshot } from '../../src/model/snapshot.ts';
import { StoreReader } from '../../src/store/reader.ts';
import type { Workload } from '../../src/workload/workload.ts';
import { runCli } from '../helpers/cli.ts';
import { assertSchema } from '../helpers/json-schema.ts';
import { scratch, startRecord, until } from '../helpers/processes.ts';
import { newWorkload } from '../helpers/workload.ts';

const { dir, children } = scratch('loadmon-psi-');
// A 2 s window: without CAP_SYS_RESOURCE (containers) the kernel takes only multiples of 2 s.
const SPEC = 'psi:cpu:some:100ms/2s';
const PSI = { resource: 'cpu', kind: 'some', stall_ms: 100, window_ms: 2000 };
let load: Workload;
let spinners: number[] = [];

before(async () => {
  load = newWorkload();
  // One more runnable task than CPUs: some task always waits for a CPU (cpu some), whatever else runs.
  spinners = (await Promise.all([load.spin(90), load.spin(90), load.spin(90)])).map((s) => s.pid);
});

after(async () => {
  await load.stop();
});

for (const source of ['procfs', 'bpf']) {
  test(`watch --source ${source}: the PSI event captures with load1 far below the threshold; reason psi, cpu`, {
    timeout: 60_000,
  }, async () => {
    const args = ['watch', '--source', source, '--trigger', SPEC, '--threshold', '1000', '--count', '1', '--format', 'json'];
    const r = await runCli(args, { timeoutMs: 45_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /PSI triggers armed: psi:cpu:some:100ms\/2s/);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const snap = JSON.parse(lines[0]!) as Snapshot;
    assertSchema('snapshot.schema.json', snap, `watch --source ${source} --trigger psi`);
    assert.equal(snap.source, source);
    assert.equal(snap.trigger?.reason, 'psi');
    assert.deepEqual(snap.trigger?.psi, PSI);
    assert.ok(snap.loadavg.load1 < 1000);
    const pids = new Set(snap.tasks.map((t) => t.pid));
    assert.ok(
      spinners.some((p) => pids.has(p)),
      `a busy loop (${spinners.join(', ')}) is among the captured R tasks`,
    );
  });
}

test('record: the stored capture keeps the PSI trigger; report --capture says it was a PSI event', { timeout: 90_000 }, async () => {
  const db = join(dir, 'psi.db');
  const rec = startRecord(children, db, '--trigger', SPEC, '--threshold', '1000', '--cooldown', '1m');
  await until('a capture stored', () => /capture \d+ stored/.test(rec.stderr()), 45_000);
  rec.child.kill('SIGTERM');
  assert.equal(await rec.exited, 0, rec.stderr());
  const id = Number(/capture (\d+) stored/.exec(rec.stderr())![1]);
  const reader = StoreReader.open(db);
  let stored: Snapshot;
  try {
    stored = reader.snapshot(id);
    assert.equal(reader.captures(0, 8.64e15).length, 1, 'one capture: the cooldown holds for the PSI trigger too');
  } finally {
    reader.close();
  }
  assert.equal(stored.trigger?.reason, 'psi');
  assert.deepEqual(stored.trigger?.psi, PSI);
  const report = await runCli(['report', '--db', db, '--capture', String(id)]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(
    report.stdout,
    /^trigger: PSI event psi:cpu:some:100ms\/2s \(cpu some stall >= 100ms within 2s; load1 \d+\.\d\d, threshold 1000; capture #1\)$/m,
  );
  const json = await runCli(['report', '--db', db, '--capture', String(id), '--format', 'json']);
  assert.deepEqual((JSON.parse(json.stdout) as Snapshot).trigger, stored.trigger, 'the JSON round-trips through the store');
});
