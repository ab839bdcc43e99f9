import assert from 'node:assert/strict';
import { test } from 'node:test';

import { groupByStack } from '../../src/analyze/group.ts';
import { formatSeed } from '../../src/format/seed.ts';
import { formatText } from '../../src/format/text.ts';
import { SNAPSHOT_SCHEMA, type Snapshot, type TaskSample } from '../../src/model/snapshot.ts';

const VFORK = ['kernel_clone+0x1af/0x3e0', '__do_sys_vfork+0x43/0x70'];

function task(tid: number, state: 'R' | 'D', comm: string, stack: string[], pid = tid): TaskSample {
  return { pid, tid, comm, state, stack, wchan: null, cgroup: '/x.slice' };
}

const snap: Snapshot = {
  schema: SNAPSHOT_SCHEMA,
  time: '2026-11-27T10:00:00.123Z',
  host: 'db1',
  source: 'procfs',
  cpus: 2,
  loadavg: { load1: 3.1, load5: 1.2, load15: 0.456, runnable: 3, threads: 100 },
  trigger: null,
  capture: { ms: 4.1, threads_scanned: 100 },
  tasks: [
    task(10, 'R', 'busy', []),
    task(20, 'D', 'vf', VFORK),
    task(22, 'D', 'vf worker', VFORK, 21),
    task(30, 'D', 'evil\nrunning task, comm: fake', VFORK),
  ],
  notes: ['a note'],
};

test('seed layout, line for line', () => {
  assert.equal(
    formatSeed(snap),
    [
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      'Load: 3.10, 1.20, 0.46',
      'dump running task.',
      'running task, comm: busy, pid 10',
      'dump uninterrupted task.',
      'uninterrupted task, comm: vf, pid 20',
      ' kernel_clone+0x1af/0x3e0',
      ' __do_sys_vfork+0x43/0x70',
      'uninterrupted task, comm: vf worker, pid 22',
      ' kernel_clone+0x1af/0x3e0',
      ' __do_sys_vfork+0x43/0x70',
      'uninterrupted task, comm: evil\\x0arunning task, comm: fake, pid 30',
      ' kernel_clone+0x1af/0x3e0',
      ' __do_sys_vfork+0x43/0x70',
      '',
    ].join('\n'),
  );
});

test('grouping: identical stacks together, most common first', () => {
  const g = groupByStack(snap.tasks);
  assert.equal(g.length, 2);
  assert.equal(g[0]!.state, 'D');
  assert.deepEqual(
    g[0]!.tasks.map((t) => t.tid),
    [20, 22, 30],
  );
  assert.equal(g[1]!.tasks[0]!.tid, 10);
});

test('text: header with load, cpus and counts; groups; notes; escaped comms', () => {
  const t = formatText(snap);
  assert.match(t, /load average: 3\.10 1\.20 0\.46 {2}cpus: 2/);
  assert.match(t, /tasks: 1 R .*, 3 D /);
  assert.match(t, /3 tasks uninterruptible \(D\), in kernel_clone\n {4}kernel_clone\+0x1af\/0x3e0/);
  assert.match(t, /pid 21 vf worker {2}tid 22 {2}cgroup \/x\.slice/);
  assert.match(t, /evil\\x0arunning task/);
  assert.ok(t.indexOf('uninterruptible (D)') < t.indexOf('running/runnable (R)'));
  assert.match(t, /notes:\n {2}- a note/);
  assert.doesNotMatch(t, /\nrunning task, comm: fake/);
});

test('text: bpf extras — how long D tasks have been blocked, user stacks of sampled R tasks', () => {
  const bpf: Snapshot = {
    ...snap,
    source: 'bpf',
    tasks: [
      { ...task(20, 'D', 'vf', VFORK), blocked_ms: 3012 },
      { ...task(21, 'D', 'vf', VFORK, 20), blocked_ms: 45_400 },
      { ...task(10, 'R', 'busy', []), user_stack: ['spin_inner', 'spin_outer', 'main'], samples: 97 },
    ],
  };
  const t = formatText(bpf);
  assert.match(t, /pid 20 vf {2}tid 20,21 {2}cgroup \/x\.slice {2}blocked 3\.0s-45s/);
  assert.match(t, /tid 10 user stack \(97 samples\): spin_inner <- spin_outer <- main/);
  assert.doesNotMatch(formatText(snap), /blocked|user stack/);
});
