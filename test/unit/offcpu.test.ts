import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KernelSymbols } from '../../src/bpf/kallsyms.ts';
import { type BlockedThread, isSchedCore, OffcpuAccount, type OffcpuShare, switchStackFrames } from '../../src/bpf/offcpu.ts';
import {
  type OffcpuOpen,
  type OffcpuSum,
  parseOffcpuEnd,
  parseOffcpuLine,
  parseOffcpuReply,
  parseSampleReply,
  parseSnapshotReply,
} from '../../src/bpf/protocol.ts';
import { LoadmonError } from '../../src/errors.ts';
import { fixture } from '../helpers/fixtures.ts';

const MS = 1e6;
const STACK = [0x10n, 0x20n];
const OTHER = [0x30n];

function open(tid: number, startNs: number, stack = STACK): OffcpuOpen {
  return { tid, pid: tid, comm: 'w', cgroup: 1n, stack, startNs };
}

function sum(tid: number, ns: number, count = 1, stack = STACK): OffcpuSum {
  return { tid, pid: tid, comm: 'w', cgroup: 1n, stack, ns, count };
}

function total(shares: OffcpuShare[], tid?: number): number {
  return shares.filter((s) => tid === undefined || s.tid === tid).reduce((a, s) => a + s.ns, 0);
}

/** The o, p and e lines of a real `sample` reply: the off-CPU read of the helper as it is today. */
const offcpuLines = (): string[] =>
  fixture('bpf', 'sample-reply.txt')
    .trimEnd()
    .split('\n')
    .filter((l) => /^[ope] /.test(l));

test('off-CPU protocol: o, p and end lines of a real helper read', () => {
  const lines = offcpuLines();
  const o = parseOffcpuLine(lines.find((l) => l.startsWith('o 20189 '))!) as OffcpuSum;
  assert.equal(o.tid, 20189);
  assert.equal(o.ns, 484813433);
  assert.equal(o.count, 16);
  assert.equal(o.cgroup, 1n);
  assert.equal(o.comm, 'loadmon-loadgen');
  assert.equal(o.stack.length, 11);
  const p = parseOffcpuLine(lines.find((l) => l.startsWith('p '))!) as OffcpuOpen;
  assert.equal(p.startNs, 12980778282045);
  assert.deepEqual(parseOffcpuEnd(lines[lines.length - 1]!), { nowNs: 12980796545416, dropped: 0, lockDropped: 0 });
  assert.throws(() => parseOffcpuLine('o 1 2 3'), LoadmonError);
  assert.throws(() => parseOffcpuLine('p 1 2 x 1 - -'), LoadmonError);
  assert.throws(() => parseOffcpuEnd('e 1'), LoadmonError);
  assert.throws(() => parseOffcpuEnd('e 1 0'), LoadmonError, 'protocol 3 always says the lock drops');
  assert.throws(() => parseOffcpuEnd('end 9 0'), LoadmonError);
});

test('switch-out stacks: the tracepoint frames and the scheduler core go, the sleeping primitive stays, flagged', () => {
  const syms = KernelSymbols.parse(fixture('bpf', 'kallsyms-sched'));
  const o = parseOffcpuLine(offcpuLines().find((l) => l.startsWith('o 20189 '))!);
  const kept = switchStackFrames(o.stack, syms);
  const frames = kept.stack.map((a) => syms.lookup(a)?.replace(/\+.*/, ''));
  // A vfork parent: /proc/PID/stack shows kernel_clone <- ...; the completion wait under it is kept.
  assert.deepEqual(frames, [
    '__wait_for_common',
    'wait_for_completion_state',
    'kernel_clone',
    '__x64_sys_vfork',
    'do_syscall_64',
    'entry_SYSCALL_64_after_hwframe',
  ]);
  assert.deepEqual(kept.sched, [true, true, false, false, false, false]);
  assert.equal(syms.inSchedFunctions(0xffffffff82266833n), true); // schedule
  assert.equal(syms.inSchedFunctions(0xffffffff8226f000n), true); // lock text
  assert.equal(syms.inSchedFunctions(0xffffffff8135f6f3n), false);
  // Without the section markers nothing can be told apart: the stack is kept whole, nothing flagged.
  const bare = KernelSymbols.parse('ffffffff81000000 T _stext\n');
  assert.deepEqual(switchStackFrames(o.stack, bare), { stack: o.stack, sched: o.stack.map(() => false) });
});

test('switch-out stacks: an i_rwsem waiter keeps rwsem_down_write_slowpath and down_write (a real stack)', () => {
  const syms = KernelSymbols.parse(fixture('bpf', 'kallsyms-rwsem'));
  const line = fixture('bpf', 'sample-reply-locks.txt')
    .split('\n')
    .find((l) => l.startsWith('o '))!;
  const kept = switchStackFrames(parseOffcpuLine(line).stack, syms);
  const frames = kept.stack.map((a) => syms.lookup(a)!.replace(/\+.*/, ''));
  assert.deepEqual(frames.slice(0, 4), ['rwsem_down_write_slowpath', 'down_write', 'ext4_file_write_iter', 'vfs_write']);
  assert.deepEqual(kept.sched.slice(0, 4), [true, true, false, false]);
  assert.ok(!frames.includes('__schedule') && !frames.includes('schedule') && !frames.includes('schedule_preempt_disabled'));
  assert.ok(!frames.includes('bpf_trace_run4'));
  assert.equal(isSchedCore('preempt_schedule_irq'), true);
  assert.equal(isSchedCore('io_schedule'), false);
});

test('off-CPU account: an interval open across reads is credited once, in the windows it spans', () => {
  const acc = new OffcpuAccount(0);
  // Blocked at 100 ms, still blocked at the 1 s and 2 s reads, back on CPU at 2.5 s.
  const w1 = acc.window({ sums: [], open: [open(7, 100 * MS)], nowNs: 1000 * MS }, null);
  assert.equal(total(w1), 900 * MS);
  const w2 = acc.window({ sums: [], open: [open(7, 100 * MS)], nowNs: 2000 * MS }, null);
  assert.equal(total(w2), 1000 * MS);
  const w3 = acc.window({ sums: [sum(7, 2400 * MS)], open: [], nowNs: 3000 * MS }, null);
  assert.equal(total(w3), 500 * MS);
  assert.equal(w3[0]!.ended, 1);
  assert.equal(total(w1) + total(w2) + total(w3), 2400 * MS);
});

test('off-CPU account: a sum that arrives one read after its interval closed still pays what was credited', () => {
  const acc = new OffcpuAccount(0);
  acc.window({ sums: [], open: [open(7, 0)], nowNs: 1000 * MS }, null);
  // Closed at 1.2 s between the helper's drain and its read of the open intervals: in neither list.
  const w2 = acc.window({ sums: [], open: [], nowNs: 2000 * MS }, null);
  assert.equal(total(w2), 0);
  const w3 = acc.window({ sums: [sum(7, 1200 * MS)], open: [], nowNs: 3000 * MS }, null);
  assert.equal(total(w3), 200 * MS);
});

test('off-CPU account: short intervals, several stacks and threads, re-blocking between reads', () => {
  const acc = new OffcpuAccount(0);
  const w1 = acc.window(
    {
      sums: [sum(7, 30 * MS, 3), sum(7, 5 * MS, 1, OTHER), sum(8, 1 * MS, 10)],
      open: [open(7, 900 * MS)],
      nowNs: 1000 * MS,
    },
    null,
  );
  assert.equal(total(w1, 7), 135 * MS);
  assert.equal(total(w1, 8), 1 * MS);
  assert.equal(w1.length, 3, 'one share per (thread, stack)');
  // Thread 7's interval closed at 1.1 s (200 ms long, 100 ms credited) and it blocked again at 1.5 s.
  const w2 = acc.window({ sums: [sum(7, 200 * MS)], open: [open(7, 1500 * MS)], nowNs: 2000 * MS }, null);
  assert.equal(total(w2, 7), 100 * MS + 500 * MS);
});

test('off-CPU account: threads blocked since before tracking started are credited from the iterator pass', () => {
  const acc = new OffcpuAccount(10_000 * MS);
  const old: BlockedThread = { tid: 9, pid: 9, comm: 'old', stack: [0x40n], blockedNs: 60_000 * MS + 1000 * MS };
  const recent: BlockedThread = { tid: 10, pid: 10, comm: 'new', stack: [0x40n], blockedNs: 300 * MS };
  const w1 = acc.window({ sums: [], open: [open(10, 10_700 * MS)], nowNs: 11_000 * MS }, [{ ...old }, recent]);
  assert.equal(total(w1, 9), 1000 * MS, 'the whole window');
  assert.equal(w1.find((s) => s.tid === 9)!.fromSwitch, false);
  assert.equal(total(w1, 10), 300 * MS, 'from the kernel side, not twice');
  const w2 = acc.window({ sums: [], open: [], nowNs: 11_500 * MS }, [{ ...old, blockedNs: old.blockedNs + 500 * MS }]);
  assert.equal(total(w2, 9), 500 * MS);
  // It woke and blocked again after tracking started: the kernel side has it from now on.
  const w3 = acc.window({ sums: [], open: [open(9, 11_900 * MS)], nowNs: 12_000 * MS }, [{ ...old, blockedNs: 100 * MS }]);
  assert.equal(total(w3, 9), 100 * MS);
  assert.equal(w3.find((s) => s.tid === 9)!.fromSwitch, true);
});

test('sample reply (a real one): the off-CPU read up to its e line, then the pass', () => {
  const lines = fixture('bpf', 'sample-reply.txt').trimEnd().split('\n').slice(2); // after "ready" and "ok"
  const { offcpu, pass } = parseSampleReply(lines);
  assert.ok(offcpu);
  assert.equal(offcpu.sums.length, 2);
  assert.equal(offcpu.open.length, 1);
  assert.deepEqual([offcpu.nowNs, offcpu.dropped], [12980796545416, 0]);
  // The pulsing process: 16 intervals ended, one open; the vfork parent blocked before the start is only in the pass.
  const pulse = offcpu.sums.find((s) => s.tid === 20189)!;
  assert.equal(pulse.count, 16);
  assert.equal(offcpu.open[0]!.tid, 20189);
  assert.deepEqual(
    pass.tasks.map((t) => [t.tid, t.state]),
    [
      [20188, 'D'],
      [20189, 'D'],
    ],
  );
  assert.equal(pass.end.threads, 99);
  // Without the tracking the reply is a plain pass.
  assert.equal(parseSampleReply(lines.slice(lines.findIndex((l) => l.startsWith('e ')) + 1)).offcpu, null);
  // A pass that is only errors fails; a reply cut short is a protocol error.
  assert.throws(() => parseSnapshotReply(['err bpf_iter_create: Operation not permitted', 'end']), /task iterator failed/);
  assert.throws(() => parseSnapshotReply(['t 1 1 R - 61 - -']), LoadmonError);
  assert.equal(parseOffcpuReply(['o 1 1 5 1 1 61 -', 'e 9 2 3']).dropped, 2);
  assert.equal(parseOffcpuReply(['o 1 1 5 1 1 61 -', 'e 9 2 3']).lockDropped, 3);
});
