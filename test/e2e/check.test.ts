/**
 * `loadmon check` as a monitoring system runs it: the built CLI, real load.
 * Ten parents blocked in vfork() (state D) make the live look CRITICAL
 * under tiny thresholds and name vfork; the same machine is OK under huge
 * ones; a store recorded by a real `record` run gives the recorded verdict;
 * a bad option, a missing store and a store whose recorder stopped are
 * UNKNOWN (exit 3) with one line on stdout.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Workload } from '../../src/workload/workload.ts';
import { runCli } from '../helpers/cli.ts';
import { newWorkload, waitForState } from '../helpers/workload.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-e2e-check-'));
const db = join(dir, 'check.db');
const VFORKS = 10;
let work: Workload;
const vforkPids: number[] = [];

before(async () => {
  work = newWorkload();
  for (let i = 0; i < VFORKS; i++) vforkPids.push((await work.vfork(120)).pid);
  await waitForState(
    vforkPids.map((pid) => ({ pid, tid: pid })),
    'D',
  );
});

after(async () => {
  await work?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One status line, and its perfdata items by label. */
function parse(stdout: string): { text: string; perf: Map<string, string> } {
  const lines = stdout.split('\n');
  assert.equal(lines.length, 2, `one line: ${JSON.stringify(stdout)}`);
  const [text, perfText] = lines[0]!.split(' | ');
  const perf = new Map<string, string>();
  for (const item of (perfText ?? '').split(' ').filter(Boolean)) {
    const [label, value] = item.split('=');
    perf.set(label!, value!);
  }
  return { text: text!, perf };
}

test('live: vfork-blocked parents under a tiny threshold are CRITICAL, named in the line (exit 2)', async () => {
  const r = await runCli(['check', '--warning', '0.01', '--critical', '0.02']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const { text, perf } = parse(r.stdout);
  assert.match(text, /^LOADMON CRITICAL - load1 \d+\.\d\d \(\d+\.\d\d\/cpu\): /);
  assert.match(text, /D \d+\.\d vfork \(loadmon-loadgen (\d+)\)/);
  const pid = Number(/vfork \(loadmon-loadgen (\d+)\)/.exec(text)![1]);
  assert.ok(vforkPids.includes(pid), `the named task ${pid} is one of ours`);
  assert.match(perf.get('load1')!, /^\d+\.\d\d;0\.01;0\.02;0$/);
  assert.ok(Number(perf.get('d')!.split(';')[0]) >= VFORKS, `d counts our ${VFORKS} D tasks: ${perf.get('d')}`);
});

test('live: the same machine under huge thresholds is OK (exit 0), thresholds per CPU resolved', async () => {
  const r = await runCli(['check', '--warning', '1000/cpu', '--critical', '2000/cpu']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const { text, perf } = parse(r.stdout);
  assert.match(text, /^LOADMON OK - /);
  const [, warn, crit] = perf.get('load1')!.split(';');
  assert.ok(Number(warn) >= 1000 && Number(crit) === 2 * Number(warn), perf.get('load1'));
});

test('--db: the recorded verdict of the period names vfork', async () => {
  const rec = await runCli(['record', '--threshold', '0', '--cooldown', '2s', '--count', '1', '--db', db, '--source', 'procfs'], {
    timeoutMs: 30_000,
  });
  assert.equal(rec.code, 0, rec.stderr);
  const r = await runCli(['check', '--db', db, '--warning', '0.01', '--critical', '0.02']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(parse(r.stdout).text, /^LOADMON CRITICAL - .*D \d+\.\d vfork \(loadmon-loadgen \d+\)/);
});

test('--db: a store whose recorder stopped before the period is UNKNOWN (exit 3)', async () => {
  // The store of the test above ends before now; a period starting in an hour has no sample.
  const since = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19);
  const r = await runCli(['check', '--db', db, '--since', since]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /^LOADMON UNKNOWN - .*check\.db: no sample since .*; is loadmon record running\?\n$/);
});

test('UNKNOWN (exit 3), one line on stdout: a bad value, an unknown option, a missing store', async () => {
  const bad = await runCli(['check', '--warning', 'lots']);
  assert.equal(bad.code, 3);
  assert.match(bad.stdout, /^LOADMON UNKNOWN - invalid value for --warning: 'lots' \(expected a load/);
  const unknown = await runCli(['check', '--verbose']);
  assert.equal(unknown.code, 3);
  assert.equal(unknown.stdout, "LOADMON UNKNOWN - unknown option '--verbose'\n");
  const missing = await runCli(['check', '--db', join(dir, 'none.db')]);
  assert.equal(missing.code, 3);
  assert.match(
    missing.stdout,
    /^LOADMON UNKNOWN - invalid value for --db: '.*none\.db' \(no loadmon store there; run loadmon record first\)\n$/,
  );
});
