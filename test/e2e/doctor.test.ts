/**
 * `loadmon doctor` on this machine, through the built CLI: as root the eBPF
 * collector works and the module does not (this host's kernel has
 * CONFIG_MODULES off), as `nobody` bpf is refused for its privileges. Both
 * JSON outputs validate against docs/schema/doctor.schema.json; the exit
 * status is 0 (procfs works). Its `record` section follows the auto rule
 * (bpf as root, procfs as nobody) and measures a real light scan of the
 * threads alive, more of them once a thousand sleeping threads are started.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

import type { DoctorReport } from '../../src/analyze/doctor.ts';
import { CLI, runCli } from '../helpers/cli.ts';
import { assertSchema, nonSnakeKeys } from '../helpers/json-schema.ts';
import { systemThreads } from '../helpers/processes.ts';
import { newWorkload } from '../helpers/workload.ts';

const ROOT_USER = process.geteuid?.() === 0;

function check(r: DoctorReport, id: string): DoctorReport['checks'][number] {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, id);
  return c;
}

test('as root: bpf works (its checks ok), the module line says CONFIG_MODULES off with its fix', {
  skip: ROOT_USER ? false : 'needs root',
}, async () => {
  const r = await runCli(['doctor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as DoctorReport;
  assertSchema('doctor.schema.json', doc, 'doctor as root');
  assert.deepEqual(nonSnakeKeys(doc), []);
  const bpf = doc.collectors.find((c) => c.name === 'bpf')!;
  assert.deepEqual([bpf.works, bpf.why], [true, null]);
  for (const id of ['bpf_privileges', 'btf', 'bpf_helper', 'kernel_stacks', 'procfs']) assert.equal(check(doc, id).state, 'ok', id);
  if (!existsSync('/proc/modules')) {
    const mod = check(doc, 'module_support');
    assert.equal(mod.state, 'fail');
    assert.match(mod.why!, /CONFIG_MODULES off/);
    assert.match(mod.fix!, /--source bpf or procfs/);
    assert.equal(doc.collectors.find((c) => c.name === 'kmod')!.works, false);
  }
  const text = await runCli(['doctor']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^ {2}bpf {5}works$/m);
  assert.match(text.stdout, /^ {2}ok {4}bpf_privileges +root$/m);
  // bpf works: record would use it (the auto rule), and says what procfs would cost instead.
  assert.equal(doc.record!.source, 'bpf');
  assert.match(doc.record!.why, /^bpf works here: --source auto records with it/);
  assert.match(text.stdout, /^record: bpf\n {2}bpf works here/m);
  assert.match(
    text.stdout,
    /^ {2}a procfs light scan of \d+ threads costs [\d.]+ ms of CPU here \([\d.]+% of a core at one scan a second\)/m,
  );
});

test('doctor measures a real light scan: every thread alive, a thousand more when they are started', {
  skip: ROOT_USER ? false : 'needs root',
}, async () => {
  const work = newWorkload();
  try {
    await work.threads(1000, 60);
    const lo = systemThreads();
    const r = await runCli(['doctor', '--json']);
    const hi = systemThreads();
    assert.equal(r.code, 0, r.stderr);
    const s = (JSON.parse(r.stdout) as DoctorReport).record!.light_scan!;
    assert.equal(s.budget_pct, 1);
    assert.ok(s.cpu_ms > 0 && s.stride >= 1, JSON.stringify(s));
    // Other sessions' processes come and go meanwhile, and the scan leaves loadmon's own threads out.
    const slack = 200;
    assert.ok(s.threads >= Math.min(lo, hi) - slack && s.threads <= Math.max(lo, hi) + slack, `${s.threads} vs ${lo}..${hi}`);
    assert.ok(s.threads >= 1000, 'the sleeping threads were scanned');
  } finally {
    await work.stop();
  }
});

test('as nobody: bpf is not usable and says why (privileges), procfs works, exit 0', {
  skip: ROOT_USER ? false : 'needs root to switch user',
}, () => {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, 'doctor', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as DoctorReport;
  assertSchema('doctor.schema.json', doc, 'doctor as nobody');
  assert.notEqual(doc.uid, 0);
  const bpf = doc.collectors.find((c) => c.name === 'bpf')!;
  assert.equal(bpf.works, false);
  assert.match(bpf.why!, /needs root, or CAP_BPF with CAP_PERFMON/);
  const priv = check(doc, 'bpf_privileges');
  assert.equal(priv.state, 'fail');
  assert.match(priv.fix!, /sudo loadmon/);
  assert.equal(check(doc, 'kernel_stacks').state, 'fail');
  assert.equal(doc.collectors.find((c) => c.name === 'procfs')!.works, true);
  // Without bpf, record would scan with procfs: the scan is measured all the same (stat needs no privilege).
  assert.equal(doc.record!.source, 'procfs');
  assert.match(doc.record!.why, /^--source auto records with procfs: bpf cannot be used \(loading BPF programs needs root/);
  assert.ok(doc.record!.light_scan!.threads > 0);
});
