/**
 * `record --source bpf`: below the scan level one tracking read per batch of
 * the waiter's rows (on its last row, its window the whole batch), at or
 * above it a scan at every sample; and the time blocked in D measured per
 * process and stack, as the report shows it, whatever the pace of the reads.
 * Workload: two vfork parents blocked for the whole run (blocked before the
 * recorder starts: the iterator pass must account for them) and one process
 * that blocks 40 ms at a time, half the time (the 1 s samples alone would
 * see it at random; the sched_switch/sched_wakeup tracking measures it).
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { bpfUnavailable } from '../../src/bpf/availability.ts';
import type { Report } from '../../src/model/report.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { buildLoadgen } from '../../src/workload/helper.ts';
import { Workload } from '../../src/workload/workload.ts';
import { CLI, runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-recbpf-'));
const db = join(dir, 'bpf.db');
/** A second recorder, its scan level (half the threshold) below the load: it scans every sample. */
const highDb = join(dir, 'bpf-high.db');
const HIGH_THRESHOLD = 0.2;
/**
 * The sample at start, two full batches of 10 rows, and a partial one that SIGTERM flushes. Two, not
 * one: the untracked edges (before the first read, between the last read and the period's end) are
 * up to ~2 s, which on a 14 s run pulled the coverage below 0.9 when the phase fell badly (0.896 seen).
 */
const RUN_MS = 24_000;
let work: Workload;
let blockedPids: number[];
let pulsePid: number;
let report: Report;
let recorderPid: number;
let recordStderr = '';
let recordCode: number | null;
let highCode: number | null;

before(async () => {
  assert.equal(bpfUnavailable(), null, 'the eBPF collector must work on this machine (root, helper built)');
  work = new Workload(buildLoadgen());
  blockedPids = [(await work.vfork(120)).pid, (await work.vfork(120)).pid];
  pulsePid = (await work.pulse(40, 120)).pid;
  await new Promise((r) => setTimeout(r, 300));
  // Threshold far above the load: no capture, and the waiter takes the rows.
  const child: ChildProcess = spawn(process.execPath, [CLI, 'record', '--db', db, '--source', 'bpf', '--threshold', '1000'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  recorderPid = child.pid!;
  child.stderr!.on('data', (d) => (recordStderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // The three tasks keep load1 well above 0.1: this one samples by itself (one capture, then the cooldown).
  const high = spawn(
    process.execPath,
    [CLI, 'record', '--db', highDb, '--source', 'bpf', '--threshold', String(HIGH_THRESHOLD), '--cooldown', '1h', '--quiet'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const highExited = new Promise<number | null>((r) => high.once('exit', (code) => r(code)));
  await new Promise((r) => setTimeout(r, RUN_MS));
  child.kill('SIGTERM');
  high.kill('SIGTERM');
  recordCode = await exited;
  highCode = await highExited;
  await work.stop();
  const r = await runCli(['report', '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  report = JSON.parse(r.stdout) as Report;
});

after(async () => {
  await work?.stop();
  if (!process.env.LOADMON_KEEP_TEST_FILES) rmSync(dir, { recursive: true, force: true });
});

test('record --source bpf below the scan level: a row every period, one tracking read per batch on its last row', () => {
  assert.equal(recordCode, 0, recordStderr);
  assert.match(recordStderr, /R\/D per process at every sample while load1 >= 500, once per 10 rows below, time blocked in D per stack/);
  const r = StoreReader.open(db);
  try {
    const s = r.sessions();
    assert.equal(s[s.length - 1]!.source, 'bpf');
    assert.equal(s[s.length - 1]!.scanAbove, 0);
    const rows = r.samples(0, 8.64e15);
    assert.ok(rows.length >= 12, `${rows.length} samples`);
    // The recorder's own sample at start, the last row of the waiter's batch of 10, and the last
    // row of the batch SIGTERM flushed; the others carry no scan (booked as not scanned).
    const scanned = rows.flatMap((x, i) => (x.scanned ? [i] : []));
    assert.deepEqual(scanned, [0, 10, 20, rows.length - 1]);
    assert.ok(rows.every((x) => !x.thinned));
    assert.equal(report.load!.scanned_samples, 4);
    // Each read's counts have the blocked vfork parents; its window is the whole batch.
    const points = r.procPoints(0, 8.64e15);
    for (const pid of blockedPids) {
      assert.deepEqual(
        points.filter((p) => p.pid === pid && p.d === 1).map((p) => p.t),
        scanned.map((i) => rows[i]!.t),
        `pid ${pid} in every read`,
      );
    }
    const batch = r.blockedAt(rows[10]!.t);
    assert.ok(batch && batch.windowMs > 9_000 && batch.windowMs < 11_000, `batch window ${JSON.stringify(batch)}`);
  } finally {
    r.close();
  }
});

test('record --source bpf at or above the scan level: a tracking read at every sample', () => {
  assert.equal(highCode, 0);
  const r = StoreReader.open(highDb);
  try {
    const rows = r.samples(0, 8.64e15).filter((x) => x.load1 >= HIGH_THRESHOLD / 2);
    assert.ok(rows.length >= 10, `${rows.length} samples at or above the level`);
    assert.ok(
      rows.every((x) => x.scanned),
      'every one scanned',
    );
    for (const x of rows.slice(1)) {
      const w = r.blockedAt(x.t);
      assert.ok(w && w.windowMs < 2_000, `window ${JSON.stringify(w)} at ${x.t}`);
    }
  } finally {
    r.close();
  }
});

test('time blocked in D: whole-run blockages read ~1 thread each, with their vfork stack', () => {
  const b = report.blocked!;
  assert.ok(b, 'the report has measured blocked time');
  // By time: the windows add up to the recorded time, from the start of tracking to the stop's
  // read, against one period per row (the first row's has no tracking before it).
  assert.ok(b.coverage > 0.9 && b.coverage <= 1, `coverage ${b.coverage}`);
  assert.ok(b.covered_s > (RUN_MS / 1000) * 0.6 && b.covered_s < RUN_MS / 1000 + 1, `covered ${b.covered_s} s`);
  for (const pid of blockedPids) {
    const p = b.processes.find((x) => x.pid === pid);
    assert.ok(p, `pid ${pid} in ${JSON.stringify(b.processes.map((x) => x.pid))}`);
    assert.ok(p.mean_d > 0.95 && p.mean_d < 1.02, `pid ${pid}: mean D ${p.mean_d}`);
  }
  const vfork = b.stacks.find((s) => s.frames[0] === 'kernel_clone');
  assert.ok(vfork, JSON.stringify(b.stacks.map((s) => s.frames.slice(0, 2))));
  assert.equal(vfork.cause, 'vfork');
  assert.equal(vfork.frames[1], '__do_sys_vfork');
  assert.ok(!b.processes.some((p) => p.pid === recorderPid), 'loadmon leaves itself out');
});

test('time blocked in D: 40 ms blockages half the time are measured (~0.5), interval by interval', () => {
  const p = report.blocked!.processes.find((x) => x.pid === pulsePid);
  assert.ok(p, 'the pulsing process is there');
  // 40 ms in D then 40 ms asleep, plus the vfork's own cost: a little under half.
  assert.ok(p.mean_d > 0.4 && p.mean_d < 0.52, `mean D ${p.mean_d}`);
  // One interval per 80 ms cycle.
  const perSecond = p.intervals / report.blocked!.covered_s;
  assert.ok(perSecond > 10 && perSecond < 12.6, `${perSecond.toFixed(1)} intervals per second`);
});

test('the report uses the measured D in its attribution of the average load', () => {
  const mean = report.attribution.mean!;
  assert.equal(mean.d_from, 'blocked_time');
  const pulse = mean.processes.find((c) => c.pid === pulsePid)!;
  assert.ok(Math.abs(pulse.d - report.blocked!.processes.find((x) => x.pid === pulsePid)!.mean_d) < 1e-9);
  assert.ok(mean.states.D > 2.3 && mean.states.D < 2.6, `mean D ${mean.states.D}`);
  // The load never came near the threshold: the verdict judges the high-load time only.
  assert.equal(report.verdict[0]!.kind, 'no-overload');
});
