import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Snapshot, TaskSample } from '../../src/model/snapshot.ts';
import type { Workload } from '../../src/workload/workload.ts';
import { runCli } from '../helpers/cli.ts';
import { HOSTILE_COMM, newWorkload, startMixedLoad, type TaskRef, threadIds, waitForState } from '../helpers/workload.ts';

const HOSTILE = HOSTILE_COMM;

let work: Workload;
let dTasks: TaskRef[];
let rTasks: TaskRef[];
let hostileD: TaskRef;
let hostileS: number;
let multi: TaskRef;

before(async () => {
  ({ work, dTasks, rTasks, hostileD, hostileS, multi } = await startMixedLoad(60));
});

after(async () => {
  await work.stop();
});

function ours(s: Snapshot): TaskSample[] {
  const pids = new Set(work.pids);
  return s.tasks.filter((t) => pids.has(t.pid));
}

async function snapshotJson(...extra: string[]): Promise<Snapshot> {
  const r = await runCli(['snapshot', '--json', '--source', 'procfs', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Snapshot;
}

test('snapshot --json reports exactly our R and D tids with the right states', async () => {
  const s = await snapshotJson();
  assert.equal(s.schema, 'loadmon.snapshot/v1');
  assert.equal(s.source, 'procfs');
  const got = ours(s)
    .map((t) => `${t.pid}/${t.tid}/${t.state}`)
    .sort();
  const want = [
    ...dTasks.map((t) => `${t.pid}/${t.tid}/D`),
    ...rTasks.map((t) => `${t.pid}/${t.tid}/R`),
    `${hostileD.pid}/${hostileD.tid}/D`,
    `${multi.pid}/${multi.tid}/D`,
  ].sort();
  assert.deepEqual(got, want);
  assert.ok(s.capture.threads_scanned >= work.pids.length);
  assert.ok(s.cpus >= 1);
  assert.ok(s.loadavg.threads! > 0);
});

test('D stacks contain the vfork path; the hostile comm round-trips; sleeping twin is absent', async () => {
  const s = await snapshotJson();
  for (const t of ours(s).filter((x) => x.state === 'D')) {
    const fns = t.stack.map((f) => f.replace(/\+.*/, ''));
    assert.ok(fns.includes('kernel_clone'), `${t.tid}: ${t.stack.join(' <- ')}`);
    assert.ok(
      fns.some((f) => /vfork/.test(f)),
      `${t.tid}: ${t.stack.join(' <- ')}`,
    );
    for (const f of t.stack) assert.doesNotMatch(f, /^\[<|ffffffff/);
    assert.equal(t.wchan, 'kernel_clone');
  }
  const h = s.tasks.find((t) => t.tid === hostileD.tid)!;
  assert.equal(h.comm, HOSTILE);
  assert.ok(!s.tasks.some((t) => t.pid === hostileS), 'a sleeping task named "x) R (y" must not be captured');
});

test('a multi-threaded process where only one thread is D: that tid alone, with its process pid', async () => {
  const s = await snapshotJson();
  const all = threadIds(multi.pid);
  assert.ok(all.length >= 6);
  const mine = s.tasks.filter((t) => t.pid === multi.pid);
  assert.deepEqual(
    mine.map((t) => t.tid),
    [multi.tid],
  );
  assert.notEqual(multi.tid, multi.pid);
});

test('--depth limits frames; --format seed prints the seed layout', async () => {
  const s = await snapshotJson('--depth', '1');
  assert.ok(ours(s).every((t) => t.stack.length <= 1));
  const r = await runCli(['snapshot', '--format', 'seed', '--source', 'procfs']);
  assert.equal(r.code, 0);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], '!'.repeat(30));
  assert.match(lines[1]!, /^Load: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
  assert.equal(lines[2], 'dump running task.');
  const i = lines.indexOf(`uninterrupted task, comm: loadmon-loadgen, pid ${dTasks[0]!.tid}`);
  assert.ok(i > lines.indexOf('dump uninterrupted task.'), r.stdout);
  assert.match(lines[i + 1]!, /^ kernel_clone\+0x[0-9a-f]+\/0x[0-9a-f]+$/);
  assert.ok(lines.includes(`running task, comm: loadmon-loadgen, pid ${rTasks[0]!.tid}`));
});

test('text output groups the D tasks under their shared stack', async () => {
  const r = await runCli(['snapshot', '--source', 'procfs']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /load average: /);
  assert.match(r.stdout, /\d+ tasks uninterruptible \(D\), in kernel_clone/);
  for (const t of dTasks) assert.match(r.stdout, new RegExp(`pid ${t.pid} loadmon-loadgen {2}tid ${t.tid}`));
});

test('watch --threshold 0 --cooldown 2s --count 2 --json: two captures, at least the cooldown apart', async () => {
  const started = Date.now();
  const r = await runCli(['watch', '--threshold', '0', '--cooldown', '2s', '--count', '2', '--json', '--source', 'procfs']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  const [a, b] = lines.map((l) => JSON.parse(l) as Snapshot);
  assert.ok(Date.parse(b!.time) - Date.parse(a!.time) >= 2000 - 15, `${a!.time} -> ${b!.time}`);
  assert.ok(Date.now() - started >= 2000);
  for (const s of [a!, b!]) {
    assert.equal(s.trigger!.reason, 'load1>=threshold');
    assert.ok(s.trigger!.load1 >= s.trigger!.threshold);
    assert.ok(ours(s).filter((t) => t.state === 'D').length >= 5);
  }
  assert.deepEqual([a!.trigger!.capture_index, b!.trigger!.capture_index], [1, 2]);
});

test('watch with a real threshold: fires once the load average reaches it', async () => {
  // Extra D tasks make the load rise at the next 5 s update whatever an earlier test left
  // (load1 moves toward the number of R+D tasks by 8% of the gap per update).
  // On a shared machine the load may already be high: start enough tasks to exceed it.
  const extra = newWorkload();
  try {
    const before = Number((await snapshotJson()).loadavg.load1);
    const n = Math.min(400, Math.max(40, Math.ceil(before) + 20));
    const started: Array<{ pid: number; tid: number }> = [];
    for (let i = 0; i < n; i++) started.push({ pid: (await extra.vfork(60)).pid, tid: 0 });
    for (const t of started) t.tid = t.pid;
    await waitForState(started, 'D', 15_000);
    const load1 = Number((await snapshotJson()).loadavg.load1);
    assert.ok(load1 < n, `load1 ${load1} is above the ${n} tasks started: the test cannot make it rise`);
    const threshold = (Math.floor(load1 * 100) + 1) / 100;
    const r = await runCli(['watch', '--threshold', String(threshold), '--count', '1', '--json', '--source', 'procfs'], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Snapshot;
    assert.ok(s.trigger!.load1 >= threshold, `${s.trigger!.load1} < ${threshold}`);
    assert.equal(s.trigger!.threshold, threshold);
    assert.ok(s.tasks.filter((t) => t.state === 'D').length >= n);
  } finally {
    await extra.stop();
  }
});

test('watch stops cleanly (exit 0) on SIGTERM and SIGINT', async () => {
  const { spawn } = await import('node:child_process');
  const { CLI } = await import('../helpers/cli.ts');
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const child = spawn(process.execPath, [CLI, 'watch', '--threshold', '1000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Signal it once it says it is watching (before that, Node itself is still starting).
    await new Promise<void>((resolve) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        if (err.includes('watching')) resolve();
      });
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill(sig);
    assert.equal(await exited, 0, sig);
  }
});

test('hundreds of tasks stuck in D: the capture finishes and lists every one with its stack', async () => {
  const many = newWorkload();
  try {
    const started: Array<{ pid: number; tid: number }> = [];
    for (let i = 0; i < 300; i++) {
      const s = await many.vfork(60);
      started.push({ pid: s.pid, tid: s.pid });
    }
    await waitForState(started, 'D', 15_000);
    const r = await runCli(['snapshot', '--json', '--source', 'procfs'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Snapshot;
    const byTid = new Map(s.tasks.map((t) => [t.tid, t]));
    for (const t of started) {
      const got = byTid.get(t.tid);
      assert.equal(got?.state, 'D', `tid ${t.tid}`);
      assert.equal(got.stack[0]?.replace(/\+.*/, ''), 'kernel_clone');
    }
  } finally {
    await many.stop();
  }
});
