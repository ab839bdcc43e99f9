import assert from 'node:assert/strict';
import { test } from 'node:test';

import { blockedCause, blockedTime, coversPeriod, MEASURED_D_EDGE_MS } from '../../src/analyze/blocked.ts';
import { aggregateEvidence } from '../../src/analyze/evidence.ts';
import { limitRelabel, type Relabel } from '../../src/analyze/limits.ts';
import { blockedTask } from '../../src/format/pprof.ts';
import type { OffcpuTotal } from '../../src/store/reader.ts';
import { batchAtIoLimit, SMALL_AT_MEMORY_LIMIT } from '../helpers/bpf-fixture.ts';

const FLUSH = ['submit_bio_wait+0x74/0xc0', 'blkdev_issue_flush+0x7c/0xb0', 'ext4_sync_file+0x242/0x2f0'];
const VFORK = ['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90'];

test('blocked time: per process, per command and per stack (offsets ignored), as mean threads in D over the covered time', () => {
  const totals: OffcpuTotal[] = [
    { pid: 10, comm: 'dd', cgroup: '/backup.service', stack: FLUSH, ms: 3000, ended: 300 },
    { pid: 11, comm: 'dd', cgroup: '/backup.service', stack: FLUSH.map((f) => f.replace('0x74', '0x75')), ms: 1000, ended: 100 },
    { pid: 20, comm: 'sh', cgroup: null, stack: VFORK, ms: 10_000, ended: 0 },
  ];
  const b = blockedTime(totals, { samples: 10, ms: 10_000 }, 20_000, 10)!;
  assert.equal(b.coverage, 0.5);
  assert.equal(b.covered_s, 10);
  assert.equal(b.blocked_s, 14);
  assert.equal(b.mean_d, 1.4);
  assert.deepEqual(
    b.processes.map((p) => [p.pid, p.blocked_s, p.mean_d, p.intervals]),
    [
      [20, 10, 1, 0],
      [10, 3, 0.3, 300],
      [11, 1, 0.1, 100],
    ],
  );
  assert.deepEqual(b.commands, [
    { comm: 'sh', processes: 1, blocked_s: 10, mean_d: 1, intervals: 0 },
    { comm: 'dd', processes: 2, blocked_s: 4, mean_d: 0.4, intervals: 400 },
  ]);
  // The two dd stacks differ only in an offset: one stack, block I/O, both processes.
  assert.equal(b.stacks.length, 2);
  const flush = b.stacks.find((s) => s.frames[0] === 'submit_bio_wait')!;
  assert.equal(flush.cause, 'block-io');
  assert.equal(flush.blocked_s, 4);
  assert.deepEqual(
    flush.processes.map((p) => p.pid),
    [10, 11],
  );
  assert.equal(b.stacks.find((s) => s.frames[0] === 'kernel_clone')!.cause, 'vfork');
  // Top N applies to every list.
  const top1 = blockedTime(totals, { samples: 10, ms: 10_000 }, 20_000, 1)!;
  assert.deepEqual([top1.processes.length, top1.commands.length, top1.stacks.length], [1, 1, 1]);
  // No tracking in the period: no section.
  assert.equal(blockedTime([], { samples: 0, ms: 0 }, 20_000, 10), null);
});

/** A page-cache read of this host (test/fixtures/causes/read.json): the page lock, memory. */
const PAGE_READ = ['folio_wait_bit_common+0x110/0x310', 'filemap_get_pages+0x749/0x760', 'filemap_read+0xda/0x3d0', 'vfs_read+0x23a/0x360'];

test("blockedCause: the stack's cause, re-labelled cgroup where the process's own limit bit (io: block I/O; memory: page cache)", () => {
  // /batch (pid 20) at its io limit, /small (pid 30) at its memory limit; pid 10 is in neither.
  const relabel = limitRelabel(
    aggregateEvidence([{ window_ms: 1000, devices: [], memory: null, cgroups: [batchAtIoLimit(), SMALL_AT_MEMORY_LIMIT] }]),
  );
  assert.ok(relabel);
  const cause = (pid: number, stack: string[], r: Relabel | null = relabel) => blockedCause({ pid, stack }, r).cause;
  assert.equal(cause(20, FLUSH), 'cgroup', 'a throttled writer shows plain block I/O');
  assert.equal(cause(10, FLUSH), 'block-io', 'outside the limited cgroup: the device');
  assert.equal(cause(30, PAGE_READ), 'cgroup', 'the re-read of pages its limit evicted');
  assert.equal(cause(20, PAGE_READ), 'memory', 'an io limit does not explain a page-cache wait');
  assert.equal(cause(30, VFORK), 'vfork', 'a memory limit does not explain a vfork parent');
  assert.equal(cause(20, FLUSH, null), 'block-io', 'no evidence: no relabel');
  assert.deepEqual(blockedCause({ pid: 20, stack: FLUSH }, relabel).frames, ['submit_bio_wait', 'blkdev_issue_flush', 'ext4_sync_file']);

  // The report's blocked time and the pprof export label it alike.
  const totals: OffcpuTotal[] = [
    { pid: 20, comm: 'dwriter', cgroup: '/batch', stack: FLUSH, ms: 600, ended: 6 },
    { pid: 10, comm: 'dd', cgroup: null, stack: FLUSH, ms: 300, ended: 3 },
  ];
  const b = blockedTime(totals, { samples: 1, ms: 1000 }, 1000, 10, relabel)!;
  assert.deepEqual(
    b.stacks.map((s) => [s.cause, s.blocked_s]),
    [
      ['cgroup', 0.6],
      ['block-io', 0.3],
    ],
  );
  assert.deepEqual(
    totals.map((t) => blockedTask(t, relabel).cause),
    ['cgroup', 'block-io'],
  );
});

/**
 * A period of 1 s rows where, below the scan level, one row in 10 carries
 * the tracking read of its whole batch (a 10 s window): `gapBatches` batches
 * in the middle had no tracking (the helper gone), their rows unscanned.
 */
function batchedPeriod(batches: number, gapBatches: number): { covered: { samples: number; ms: number }; periodMs: number } {
  const windows: number[] = [];
  for (let b = 0; b < batches; b++) {
    const tracked = b < (batches - gapBatches) / 2 || b >= (batches + gapBatches) / 2;
    for (let row = 0; row < 10; row++) if (tracked && row === 9) windows.push(10_000);
  }
  return { covered: { samples: windows.length, ms: windows.reduce((a, w) => a + w, 0) }, periodMs: batches * 10 * 1000 };
}

test('coverage is by time: a 10 s window on every 10th row covers its batch; a gap lowers it', () => {
  const totals: OffcpuTotal[] = [{ pid: 20, comm: 'sh', cgroup: null, stack: VFORK, ms: 600_000, ended: 0 }];
  const full = batchedPeriod(60, 0);
  const b = blockedTime(totals, full.covered, full.periodMs, 10)!;
  // 60 rows of 600 tracked: by samples that was 0.1; by time the whole 10 minutes.
  assert.equal(full.covered.samples, 60);
  assert.equal(b.coverage, 1);
  assert.equal(b.mean_d, 1);
  assert.ok(coversPeriod(b, full.periodMs));

  // Three batches (30 s) untracked in the middle of 10 minutes: 95%, and the sampled D stays.
  const gap = batchedPeriod(60, 3);
  const g = blockedTime(totals, gap.covered, gap.periodMs, 10)!;
  assert.equal(g.coverage, 0.95);
  assert.ok(!coversPeriod(g, gap.periodMs));

  // One batch missing (the period ended inside it, its read comes after): the edge is tolerated,
  // a second one is not.
  const edge = batchedPeriod(60, 1);
  assert.ok(coversPeriod(blockedTime(totals, edge.covered, edge.periodMs, 10)!, edge.periodMs));
  assert.equal(edge.periodMs - edge.covered.ms, MEASURED_D_EDGE_MS);
  const two = batchedPeriod(60, 2);
  assert.ok(!coversPeriod(blockedTime(totals, two.covered, two.periodMs, 10)!, two.periodMs));

  // A first window reaching back before the period's first row does not make it more than whole.
  assert.equal(blockedTime(totals, { samples: 61, ms: 610_000 }, 600_000, 10)!.coverage, 1);
});
