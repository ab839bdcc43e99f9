/**
 * `loadmon doctor` on this machine, through the built CLI: as root the eBPF
 * collector works and the module does not (this host's kernel has
 * CONFIG_MODULES off), as `nobody` bpf is refused for its privileges. Both
 * JSON outputs validate against docs/schema/doctor.schema.json; the exit
 * status is 0 (procfs works).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

import type { DoctorReport } from '../../src/analyze/doctor.ts';
import { CLI, runCli } from '../helpers/cli.ts';
import { assertSchema, nonSnakeKeys } from '../helpers/json-schema.ts';

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
});
