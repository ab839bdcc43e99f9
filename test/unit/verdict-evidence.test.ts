import assert from 'node:assert/strict';
import { test } from 'node:test';

import { aggregateChains, aggregateEvidence, type PeriodEvidence } from '../../src/analyze/evidence.ts';
import { limitRelabel } from '../../src/analyze/limits.ts';
import { aggregateStacks } from '../../src/analyze/stacks.ts';
import { decideVerdict } from '../../src/analyze/verdict.ts';
import type { ChainLink, DeviceEvidence, Evidence } from '../../src/model/evidence.ts';
import type { Snapshot, TaskSample } from '../../src/model/snapshot.ts';
import type { StoredChain } from '../../src/model/timeline.ts';
import { batchAtIoLimit } from '../helpers/bpf-fixture.ts';

// Real 6.18 stacks (this host): writers with O_DIRECT|O_DSYNC to their own files.
const FLUSH_WAIT = [
  'submit_bio_wait+0x5b/0xa0',
  'blkdev_issue_flush+0x3c/0x50',
  'ext4_sync_file+0x176/0x3a0',
  'vfs_fsync_range+0x3c/0x90',
  'ext4_file_write_iter+0x2f8/0x8a0',
  'vfs_write+0x26e/0x450',
  'ksys_write+0x6d/0xf0',
  'do_syscall_64+0x7d/0x7f0',
  'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
];
const DIO_WRITE = [
  'ext4_file_write_iter+0x2f8/0x8a0',
  'vfs_write+0x26e/0x450',
  'ksys_write+0x6d/0xf0',
  'do_syscall_64+0x7d/0x7f0',
  'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
];

function task(pid: number, tid: number, state: 'R' | 'D', stack: string[]): TaskSample {
  return { pid, tid, comm: 'dwriter', state, stack, wchan: null, cgroup: '/' };
}

function snapshot(tasks: TaskSample[]): Snapshot {
  return {
    schema: 'loadmon.snapshot/v1',
    time: '2026-12-01T10:00:00.000Z',
    host: 'h',
    source: 'procfs',
    cpus: 2,
    loadavg: { load1: 6, load5: 4, load15: 2, runnable: null, threads: null },
    trigger: null,
    capture: { ms: 1, threads_scanned: 100 },
    tasks,
    notes: [],
  };
}

const vda: DeviceEvidence = {
  name: 'vda',
  dev: '254:0',
  util: 0.98,
  reads_s: 0,
  writes_s: 1800,
  read_kib_s: 0,
  write_kib_s: 7200,
  await_ms: 1.2,
  in_flight: 4,
  queue: 3.9,
};

test('verdict: R threads woken from I/O count with the I/O cause, not as CPU saturation; no thread counted twice', () => {
  // 6 writers: in the capture 3 in D and 3 runnable with the flush wait still on their stacks.
  const snap = snapshot([
    task(10, 11, 'D', FLUSH_WAIT),
    task(10, 12, 'D', FLUSH_WAIT),
    task(10, 13, 'D', FLUSH_WAIT),
    task(10, 14, 'R', FLUSH_WAIT),
    task(10, 15, 'R', FLUSH_WAIT),
    task(10, 16, 'R', []),
  ]);
  const stacks = aggregateStacks([{ id: 1, snapshot: snap }]);
  assert.equal(
    stacks.find((s) => s.state === 'R' && s.frames.length > 0)!.cause,
    'block-io',
    'a runnable task keeps the wait it was woken from',
  );
  const ev: PeriodEvidence = { samples: 10, devices: [vda], memory: null, cgroups: [] };
  const lines = decideVerdict({
    cpus: 2,
    meanR: 3,
    meanD: 3,
    maxLoad1: 6,
    threshold: 3,
    topR: [],
    stacks,
    evidence: ev,
    pressure: { io_full: 38 },
  });
  assert.equal(lines[0]!.cause, 'block-io');
  assert.equal(lines[0]!.share, 5, '3 D + 2 of the 3 R woken from the flush');
  assert.equal(lines[0]!.evidence.woken_r, 2);
  assert.ok(!lines.some((l) => l.kind === 'cpu-saturation'), 'one CPU-demand R thread on 2 CPUs is no saturation');
  assert.match(
    lines[0]!.text,
    new RegExp(
      /block I\/O \/ writeback on vda: .* plus ~2\.00 R threads woken from it waiting for a CPU; /.source +
        /vda 98% busy, 1\.20 ms per request, 4 in flight, PSI io full peaked at 38%/.source,
    ),
  );
  assert.equal(lines[0]!.evidence.devices![0]!.name, 'vda');
  const total = lines.reduce((a, l) => a + l.share, 0);
  assert.ok(total <= 6 + 1e-9, `shares add up to at most R + D (${total})`);
});

test('verdict: a busy CPU-bound load stays CPU saturation', () => {
  const snap = snapshot([task(1, 1, 'R', []), task(1, 2, 'R', ['exit_to_user_mode_loop+0x1/0x2', 'do_syscall_64+0x1/0x2'])]);
  const lines = decideVerdict({
    cpus: 2,
    meanR: 4.5,
    meanD: 0,
    maxLoad1: 4.4,
    threshold: 3,
    topR: [],
    stacks: aggregateStacks([{ id: 1, snapshot: snap }]),
  });
  assert.equal(lines[0]!.kind, 'cpu-saturation');
  assert.match(lines[0]!.text, /^severe CPU saturation: 4\.50 threads/);
});

test("cgroup limits: an io limit that bit makes its writers' block I/O the cgroup's cause; the line cites it with the idle device", () => {
  const ev = aggregateEvidence(
    [1, 2, 3, 4].map(
      (): Evidence => ({
        window_ms: 1000,
        devices: [{ ...vda, util: 0.04, writes_s: 256, in_flight: 1 }],
        memory: null,
        cgroups: [batchAtIoLimit('io: writes 1.00 MiB/s on 254:0 at its limit of 1.00 MiB/s (100%)')],
      }),
    ),
  )!;
  assert.equal(ev.cgroups[0]!.at_limit_share, 1);
  const relabel = limitRelabel(ev)!;
  assert.equal(relabel(20, 'block-io', FLUSH_WAIT), 'cgroup');
  assert.equal(relabel(21, 'block-io', FLUSH_WAIT), 'block-io', 'a process outside the cgroup keeps its cause');
  assert.equal(relabel(20, 'vfork', ['kernel_clone']), 'vfork', 'only the waits the limit causes');
  const snap = snapshot([
    task(20, 21, 'D', FLUSH_WAIT),
    task(20, 22, 'D', FLUSH_WAIT),
    task(30, 31, 'D', ['kernel_clone+0x1/0x2', '__do_sys_vfork+0x1/0x2']),
  ]);
  const lines = decideVerdict({
    cpus: 2,
    meanR: 0.2,
    meanD: 3,
    maxLoad1: 3,
    threshold: 3,
    topR: [],
    stacks: aggregateStacks([{ id: 4, snapshot: snap }], relabel),
    evidence: ev,
  });
  assert.equal(lines[0]!.cause, 'cgroup');
  assert.deepEqual(lines[0]!.evidence.cgroups, [
    { path: '/batch', limit: 'io', detail: 'io: writes 1.00 MiB/s on 254:0 at its limit of 1.00 MiB/s (100%)' },
  ]);
  assert.match(lines[0]!.text, /\(io limit of \/batch\).*the device itself is not the bottleneck: vda 4% busy/);
  assert.equal(lines[1]!.cause, 'vfork');
});

test('cgroup limits: memory limits take reclaim and page-cache reads, not direct writes; limits that rarely bit are ignored', () => {
  const mem = (share: number): PeriodEvidence => ({
    samples: 4,
    devices: [],
    memory: null,
    cgroups: [
      {
        path: '/small',
        limit: 'memory',
        detail: 'memory: 63.9 MiB used of a 64.0 MiB limit',
        at_limit: true,
        at_limit_share: share,
        hierarchy: 'v1',
        ratio: 1,
        rate: 100,
        dev: null,
        pids: [5],
      },
    ],
  });
  const relabel = limitRelabel(mem(0.5))!;
  assert.equal(relabel(5, 'block-io', ['folio_wait_bit_common+0x1/0x2', 'filemap_read+0x1/0x2', 'vfs_read+0x1/0x2']), 'cgroup');
  assert.equal(relabel(5, 'memory', ['shrink_folio_list+0x1/0x2']), 'cgroup');
  assert.equal(relabel(5, 'block-io', DIO_WRITE), 'block-io');
  assert.equal(limitRelabel(mem(0.1)), null);
  assert.equal(limitRelabel(null), null);
});

test('evidence over a period: device means over all samples, the last figures of a limit that bit', () => {
  const e = (util: number, atLimit: boolean): Evidence => ({
    window_ms: 1000,
    devices: util > 0 ? [{ ...vda, util, writes_s: util * 1000 }] : [],
    memory: { direct_reclaim_s: 10, pgscan_direct_s: 0, compact_stall_s: 0, major_faults_s: 0, swap_in_s: 0, refaults_s: 2 },
    cgroups: [
      {
        path: '/x',
        limit: 'memory',
        detail: atLimit ? 'bit' : 'quiet',
        at_limit: atLimit,
        hierarchy: 'v2',
        ratio: 0.9,
        rate: 0,
        dev: null,
        pids: [1],
      },
    ],
  });
  const p = aggregateEvidence([e(1, false), e(0.5, true), e(0, false), e(0.5, false)])!;
  assert.equal(p.samples, 4);
  assert.equal(p.devices[0]!.util, 0.5);
  assert.equal(p.devices[0]!.writes_s, 500);
  assert.equal(p.memory!.direct_reclaim_s, 10);
  assert.equal(p.cgroups[0]!.detail, 'bit');
  assert.equal(p.cgroups[0]!.at_limit_share, 0.25);
  assert.equal(aggregateEvidence([]), null);
});

test('chains over a period: waiters from the time waited, the holder behind most of it, locks of two sessions kept apart', () => {
  const link = (key: string, waitMs: number, holderTid: number | null): StoredChain => ({
    key,
    wait_ms: waitMs,
    lock: { kind: 'rwsem', address: null, name: 'i_rwsem of inode 12 on vda' },
    waiters: waitMs / 1000,
    waiter_threads: 5,
    waiter_processes: [{ pid: 7, comm: 'dwriter' }],
    holder: holderTid === null ? null : { pid: 7, tid: holderTid, comm: 'dwriter', state: 'D', stack: ['submit_bio_wait'] },
    holder_cause: 'block I/O / writeback, waiting for bio',
    other_holders: 0,
  });
  const chains = aggregateChains(
    [
      { session: 1, chains: [link('inode:254:0:12', 4000, 8)] },
      { session: 1, chains: [link('inode:254:0:12', 4000, 9)] },
      { session: 1, chains: [link('inode:254:0:12', 1000, 8)] },
      { session: 2, chains: [link('inode:254:0:12', 500, 9)] },
    ],
    10_000,
  );
  assert.equal(chains.length, 2);
  const c: ChainLink = chains[0]!;
  assert.equal(c.waiters, 0.9);
  assert.equal(c.holder!.tid, 8, '5 s waited behind tid 8, 4 s behind tid 9');
  assert.equal(c.other_holders, 1);
  assert.equal(c.lock.address, null);
  assert.ok(!JSON.stringify(chains).includes('inode:254'), 'the opaque key stays in the store');
  assert.deepEqual(aggregateChains([], 0), []);
});

test('verdict: a lock line names the holder and what it waits for; without chains, what the stack lets us infer', () => {
  const snap = snapshot([task(7, 8, 'D', DIO_WRITE), task(7, 9, 'D', DIO_WRITE)]);
  const stacks = aggregateStacks([{ id: 2, snapshot: snap }]);
  const chain: ChainLink = {
    lock: { kind: 'rwsem', address: null, name: 'i_rwsem of inode 12 on vda' },
    waiters: 1.9,
    waiter_threads: 2,
    waiter_processes: [{ pid: 7, comm: 'dw\nfake' }],
    holder: {
      pid: 7,
      tid: 10,
      comm: 'dwriter',
      state: 'D',
      stack: ['io_schedule_timeout [sched]', 'submit_bio_wait', 'blkdev_issue_flush'],
    },
    holder_cause: 'block I/O / writeback, waiting for bio',
    other_holders: 2,
  };
  const withChain = decideVerdict({ cpus: 2, meanR: 0, meanD: 2, maxLoad1: 3, threshold: 3, topR: [], stacks, chains: [chain] });
  assert.equal(withChain[0]!.cause, 'lock');
  assert.deepEqual(withChain[0]!.evidence.chain, [chain]);
  assert.match(
    withChain[0]!.text,
    new RegExp(
      /1\.90 threads of dw\\x0afake \(2 seen\) wait for i_rwsem of inode 12 on vda, held by tid 10 \(dwriter\), /.source +
        /itself in D in submit_bio_wait \(block I\/O \/ writeback, waiting for bio\); 2 other threads held it in turn$/.source,
    ),
  );
  const without = decideVerdict({ cpus: 2, meanR: 0, meanD: 2, maxLoad1: 3, threshold: 3, topR: [], stacks });
  assert.match(without[0]!.text, /waiting for i_rwsem \(inferred from ext4_file_write_iter\)$/);
  assert.equal(without[0]!.evidence.chain, undefined);
});

test('verdict: a wait seen only in threads just woken from it is a line of its own, with no D part', () => {
  const snap = snapshot([task(7, 8, 'R', FLUSH_WAIT), task(7, 9, 'R', FLUSH_WAIT), task(7, 10, 'R', FLUSH_WAIT)]);
  const lines = decideVerdict({
    cpus: 2,
    meanR: 3,
    meanD: 0,
    maxLoad1: 3,
    threshold: 3,
    topR: [],
    stacks: aggregateStacks([{ id: 1, snapshot: snap }]),
  });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.cause, 'block-io');
  assert.equal(lines[0]!.share, 3);
  assert.match(lines[0]!.text, /: none of the D tasks in captures, plus ~3\.00 R threads woken from it waiting for a CPU/);
});

test('verdict: R threads preempted inside reclaim for their cgroup count with the memory limit, not as CPU demand', () => {
  const reclaim = [
    '__cond_resched+0x2c/0x50',
    'shrink_folio_list+0x6a/0xe50',
    'shrink_lruvec+0x5d1/0xc40',
    'try_to_free_mem_cgroup_pages+0x108/0x280',
    'try_charge_memcg+0x189/0x6f0',
    'filemap_add_folio+0x47/0xe0',
    'page_cache_ra_unbounded+0x11f/0x1b0',
    'filemap_read+0x1b5/0x340',
  ];
  const snap = snapshot([
    task(5, 6, 'R', reclaim),
    task(5, 7, 'R', reclaim),
    task(5, 8, 'R', []),
    task(5, 9, 'D', ['folio_wait_bit_common+0x1/0x2', 'filemap_read+0x1/0x2']),
  ]);
  const stacks = aggregateStacks([{ id: 1, snapshot: snap }]);
  assert.equal(stacks.find((s) => s.state === 'R' && s.frames.length > 0)!.cause, 'cgroup', 'the charge path is the cgroup context row');
  const lines = decideVerdict({ cpus: 2, meanR: 3, meanD: 1, maxLoad1: 4, threshold: 3, topR: [], stacks });
  assert.ok(!lines.some((l) => l.kind === 'cpu-saturation'), 'one R thread of CPU demand on 2 CPUs');
  assert.equal(lines[0]!.cause, 'cgroup');
  assert.equal(lines[0]!.share, 2);
});
