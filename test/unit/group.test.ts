/**
 * One grouping of tasks by stack (src/analyze/group.ts groupStacks) behind
 * the text format's groups, the analysis's aggregates and the dashboard's
 * capture view (issue 12 item 2): the same keys and the same order everywhere.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { groupByStack, groupStacks, type StackKey } from '../../src/analyze/group.ts';
import { aggregateStacks, taskStack } from '../../src/analyze/stacks.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { buildCaptureView } from '../../src/web/views.ts';
import { SESSION, snapshot } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-group-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const VFORK = ['kernel_clone+0x1af/0x3e0', '__do_sys_vfork+0x43/0x70'];
const IO = ['io_schedule+0x42/0x70', 'submit_bio_wait+0x5d/0x90'];

test('groupStacks: one group per (state, cause, frames); heaviest first, D before R, shorter stack, then first seen', () => {
  type Item = StackKey & { n: number };
  const items: Item[] = [
    { state: 'R', frames: ['a', 'b'], n: 1 },
    { state: 'D', frames: ['a', 'b'], n: 2 },
    { state: 'R', frames: ['a'], n: 3 },
    { state: 'R', frames: ['a'], n: 4, cause: 'x' },
    { state: 'D', frames: ['a', 'b'], n: 5 },
    { state: 'R', frames: ['c'], n: 6 },
  ];
  const groups = groupStacks(items, {
    key: (i) => i,
    open: (k) => ({ state: k.state, frames: k.frames.join(';'), cause: k.cause ?? '', ns: [] as number[] }),
    add: (g, i) => g.ns.push(i.n),
    weight: (g) => g.ns.length,
  });
  assert.deepEqual(
    groups.map((g) => [g.state, g.frames, g.cause, g.ns]),
    [
      ['D', 'a;b', '', [2, 5]],
      ['R', 'a', '', [3]],
      ['R', 'a', 'x', [4]],
      ['R', 'c', '', [6]],
      ['R', 'a;b', '', [1]],
    ],
  );
});

test('groupByStack (text format): exact stack text, offsets kept apart', () => {
  const snap = snapshot(1000, [
    { pid: 1, state: 'D', stack: VFORK },
    { pid: 2, state: 'D', stack: ['kernel_clone+0x1b0/0x3e0', '__do_sys_vfork+0x43/0x70'] },
    { pid: 3, state: 'D', stack: VFORK },
    { pid: 4, state: 'R', stack: [] },
  ]);
  const g = groupByStack(snap.tasks);
  assert.deepEqual(
    g.map((x) => [x.state, x.stack[0], x.tasks.map((t) => t.tid)]),
    [
      ['D', 'kernel_clone+0x1af/0x3e0', [1, 3]],
      ['D', 'kernel_clone+0x1b0/0x3e0', [2]],
      ['R', undefined, [4]],
    ],
  );
});

test('aggregateStacks: offsets stripped, observations across captures, distinct tasks, the captures they were in', () => {
  const c1 = snapshot(1000, [
    { pid: 1, state: 'D', stack: VFORK },
    { pid: 2, state: 'D', stack: ['kernel_clone+0x1b0/0x3e0', '__do_sys_vfork+0x43/0x70'] },
    { pid: 3, state: 'D', stack: IO },
  ]);
  const c2 = snapshot(2000, [
    { pid: 1, state: 'D', stack: VFORK },
    { pid: 3, state: 'D', stack: IO },
    { pid: 4, state: 'D', stack: IO },
    { pid: 5, state: 'D', stack: IO },
  ]);
  const a = aggregateStacks([
    { id: 1, snapshot: c1 },
    { id: 2, snapshot: c2 },
  ]);
  assert.deepEqual(
    a.map((s) => [s.state, s.frames[0], s.cause, s.count, s.distinct_tasks, s.tasks.map((t) => t.tid), s.captures]),
    [
      ['D', 'io_schedule', 'block-io', 4, 3, [3, 4, 5], [1, 2]],
      ['D', 'kernel_clone', 'vfork', 3, 2, [1, 2], [1, 2]],
    ],
  );
});

test('aggregateStacks: at most 50 task references, every distinct task counted', () => {
  const tasks = Array.from({ length: 120 }, (_, i) => ({ pid: 100 + i, state: 'D' as const, stack: IO }));
  const [a] = aggregateStacks([{ id: 1, snapshot: snapshot(1000, tasks) }]);
  assert.equal(a!.count, 120);
  assert.equal(a!.distinct_tasks, 120);
  assert.equal(a!.tasks.length, 50);
});

test('taskStack: D with no stack is told by wchan; a relabel changes a known cause only', () => {
  const [withWchan, without] = snapshot(1000, [
    { pid: 1, state: 'D', stack: [], wchan: 'io_schedule' },
    { pid: 2, state: 'D', stack: [], wchan: null },
  ]).tasks;
  assert.deepEqual(taskStack(withWchan!), { state: 'D', frames: [], cause: 'block-io' });
  assert.deepEqual(taskStack(without!), { state: 'D', frames: [], cause: 'unknown' });
  assert.equal(taskStack(withWchan!, () => 'cgroup').cause, 'cgroup');
  assert.equal(taskStack(without!, () => 'cgroup').cause, 'unknown');
});

/** One capture in a fresh store, and its dashboard view. */
function viewOf(name: string, tasks: Parameters<typeof snapshot>[1]) {
  const path = join(dir, name);
  const w = StoreWriter.open(path);
  w.beginSession(SESSION);
  const id = w.insertCapture(snapshot(5000, tasks));
  w.close();
  const r = StoreReader.open(path);
  try {
    return { view: buildCaptureView(r, r.captureRow(id)!), snap: r.snapshot(id), id };
  } finally {
    r.close();
  }
}

test("capture view: the groups are the analysis's (same keys, counts and order), with their own tasks", () => {
  const { view, snap, id } = viewOf('view.db', [
    { pid: 10, tid: 10, state: 'D', stack: IO, comm: 'dd', cgroup: '/a' },
    { pid: 10, tid: 11, state: 'D', stack: IO, comm: 'dd', cgroup: '/a' },
    { pid: 12, state: 'D', stack: IO, comm: 'cp', cgroup: '/b' },
    { pid: 20, state: 'D', stack: VFORK, comm: 'vf' },
    { pid: 30, state: 'R', stack: [], comm: 'busy' },
  ]);
  const agg = aggregateStacks([{ id, snapshot: snap }]);
  assert.deepEqual(
    view.groups.map((g) => [g.state, g.frames, g.count]),
    agg.map((a) => [a.state, a.frames, a.count]),
  );
  const io = view.groups[0]!;
  assert.deepEqual(
    [io.cause, io.cause_label !== null, io.pids, io.comms, io.cgroups],
    ['block-io', true, [10, 12], ['dd', 'cp'], ['/a', '/b']],
  );
  assert.deepEqual(
    io.tasks.map((t) => t.tid),
    [10, 11, 12],
  );
  const r = view.groups.at(-1)!;
  assert.deepEqual([r.state, r.cause, r.cause_label, r.tasks.map((t) => t.tid)], ['R', null, null, [30]]);
});

test('capture view: D tasks with the same (empty) stack but different causes are two groups, each listing only its tasks', () => {
  const { view } = viewOf('wchan.db', [
    { pid: 1, state: 'D', stack: [], wchan: 'io_schedule' },
    { pid: 2, state: 'D', stack: [], wchan: 'io_schedule' },
    { pid: 3, state: 'D', stack: [], wchan: 'rwsem_down_write_slowpath' },
  ]);
  assert.deepEqual(
    view.groups.map((g) => [g.cause, g.count, g.tasks.map((t) => t.tid), g.tasks.map((t) => t.wchan)]),
    [
      ['block-io', 2, [1, 2], ['io_schedule', 'io_schedule']],
      ['lock', 1, [3], ['rwsem_down_write_slowpath']],
    ],
  );
});
