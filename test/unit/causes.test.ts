import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CAUSE_RULES, CAUSES, type CauseId, classifyStack, classifyWokenStack } from '../../src/analyze/causes.ts';
import { fixture } from '../helpers/fixtures.ts';

/** Real stacks sampled on this host (6.18) under workloads: test/fixtures/causes/*.json. */
interface Sample {
  n: number;
  state: 'R' | 'D';
  wchan: string;
  stack: string[];
}
const samples = (name: string): Sample[] => (JSON.parse(fixture('causes', name)) as { samples: Sample[] }).samples;
const sym = (f: string | undefined): string => (f ?? '').split('+')[0]!;

/** Every row a test decided with, to check that each row of the table is exercised. */
const hit = new Set<number>();
function classify(stack: readonly string[], wchan?: string | null): ReturnType<typeof classifyStack> {
  const c = classifyStack(stack, wchan);
  hit.add(c.rule);
  return c;
}

/** The first sample of `state` whose innermost frame is `innermost` (the fixture must have one). */
function real(name: string, state: 'R' | 'D', innermost: string): Sample {
  const s = samples(name).find((x) => x.state === state && sym(x.stack[0]) === innermost);
  assert.ok(s, `${name} has a ${state} sample innermost in ${innermost}`);
  return s;
}

const REAL_D: Array<[string, string, CauseId, string | null]> = [
  ['sep.json', 'ext4_file_write_iter', 'lock', 'i_rwsem'],
  ['shared.json', 'fdget_pos', 'lock', 'f_pos_lock'],
  ['own.json', '__sync_dirty_buffer', 'block-io', 'buffer I/O'],
  ['own.json', 'fsync_buffers_list', 'block-io', 'buffer I/O'],
  ['own.json', 'submit_bio_wait', 'block-io', 'bio'],
  ['own.json', '__iomap_dio_rw', 'block-io', 'device'],
  ['mmap.json', '__vm_munmap', 'lock', 'mmap_lock'],
  ['mmap.json', 'vm_mmap_pgoff', 'lock', 'mmap_lock'],
  ['mmap.json', 'lock_mm_and_find_vma', 'lock', 'mmap_lock'],
  ['mmap.json', 'do_mprotect_pkey', 'lock', 'mmap_lock'],
  ['creat.json', 'filename_create', 'lock', 'i_rwsem (directory)'],
  ['creat.json', 'do_renameat2', 'lock', 'i_rwsem (directory)'],
  ['creat.json', 'path_openat', 'lock', 'i_rwsem (directory)'],
  ['creat.json', '__ext4_find_entry', 'block-io', 'buffer I/O'],
  ['creat.json', 'folio_wait_bit', 'block-io', 'writeback'],
  ['trunc.json', 'do_truncate', 'lock', 'i_rwsem'],
  ['trunc.json', 'ext4_buffered_write_iter', 'lock', 'i_rwsem'],
  ['trunc.json', 'inode_wait_for_writeback', 'block-io', 'writeback'],
  ['read.json', 'folio_wait_bit_common', 'memory', 'page lock'],
  ['read.json', '__folio_lock', 'memory', 'page lock'],
  ['read.json', 'ext4_wait_block_bitmap', 'block-io', 'buffer I/O'],
  ['fault.json', 'folio_wait_bit_common', 'memory', 'page lock'],
  ['fault.json', '__lru_add_drain_all', 'lock', 'lru drain mutex'],
  ['dirty.json', 'wb_wait_for_completion', 'block-io', 'writeback'],
];

for (const [name, innermost, cause, waits] of REAL_D) {
  test(`real 6.18 D stack: ${innermost} (${name}) is ${cause}, ${waits}`, () => {
    const s = real(name, 'D', innermost);
    const c = classify(s.stack);
    assert.equal(c.cause, cause, JSON.stringify(c));
    assert.equal(c.waits_for, waits);
    // folio_wait_bit is generic: the writeback row decides on its caller, folio_wait_writeback.
    assert.equal(c.frame, innermost === 'folio_wait_bit' ? 'folio_wait_writeback' : innermost);
    assert.ok(!/\+0x/.test(c.frame ?? ''), 'the deciding frame is normalised');
    // Caller rows are inferences from hidden primitives; primitive rows read a visible wait.
    assert.equal(c.inferred, CAUSE_RULES[c.rule]!.kind === 'caller');
  });
}

test('real 6.18 stacks: the wait behind ext4_file_write_iter is the lock, not the I/O deeper in its callers', () => {
  // Without the caller table these were `unknown` (issue 10): the lock frames are hidden.
  const s = real('sep.json', 'D', 'ext4_file_write_iter');
  assert.ok(
    s.stack.every((f) => !/down_write|rwsem|mutex|schedule/.test(f)),
    'no lock frame is visible',
  );
  // A fsync under the same write path is block I/O: the innermost frame decides, not the outer write.
  const flush = real('sep.json', 'D', 'submit_bio_wait');
  assert.ok(flush.stack.some((f) => sym(f) === 'ext4_file_write_iter'));
  assert.equal(classify(flush.stack).cause, 'block-io');
});

test('every caller row, on a source-derived stack: the innermost frame decides, with its waits_for', () => {
  CAUSE_RULES.forEach((rule, i) => {
    if (rule.kind !== 'caller') return;
    for (const f of rule.frames) {
      const c = classify([`${f}+0x56/0x1a0`, 'x64_sys_call+0x1/0x2', 'do_syscall_64+0x71/0x290']);
      assert.deepEqual(c, { cause: rule.cause, frame: f, rule: i, waits_for: rule.waits_for, inferred: true }, f);
    }
  });
});

test('caller rows look at the innermost frame only', () => {
  // A driver sleeping under a write is that driver's wait, not the inode lock of the outer write.
  const c = classify(['msleep+0x2b/0x40', 'mydrv_write+0x51/0x90 [mydrv]', 'ext4_file_write_iter+0x56/0x1a0', 'vfs_write+0x1/0x2']);
  assert.equal(c.cause, 'unknown');
  assert.equal(c.rule, -1);
});

test('every primitive and context row on a stack that shows it; context overrides the innermost frame', () => {
  CAUSE_RULES.forEach((rule, i) => {
    if (rule.kind !== 'context' && rule.kind !== 'primitive') return;
    const f = rule.frames[0]!.replace('*', '_x');
    const c = classify(['some_leaf+0x1/0x2', `${f}+0x10/0x80`, 'do_syscall_64+0x71/0x290']);
    assert.equal(c.rule, i, f);
    assert.equal(c.inferred, false);
  });
  // Reclaim under an ext4 write, a journal wait under fsync: the context decides.
  const reclaim = [
    'folio_wait_bit_common+0x13d/0x350',
    'shrink_folio_list+0x8d3/0xe20',
    'try_to_free_pages+0xdc/0x1b0',
    'ext4_buffered_write_iter+0x1/0x2',
  ];
  assert.equal(classify(reclaim).cause, 'memory');
  assert.equal(classify(reclaim).waits_for, 'reclaim');
  const journal = [
    'jbd2_log_wait_commit+0xb2/0x120',
    'ext4_sync_file+0x1c5/0x360',
    'iomap_dio_complete+0x1/0x2',
    'ext4_file_write_iter+0x1/0x2',
  ];
  assert.equal(classify(journal).cause, 'journal');
  // A vfork parent whatever it waits in.
  assert.equal(classify(['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90']).cause, 'vfork');
});

test('primitive rows keep their order: writeback before page lock, so folio_wait_bit under folio_wait_writeback is writeback', () => {
  const s = real('dirty.json', 'D', 'folio_wait_bit');
  const c = classify(s.stack);
  assert.equal(c.frame, 'folio_wait_writeback');
  assert.equal(c.cause, 'block-io');
  const order = (pattern: string): number => CAUSE_RULES.findIndex((r) => r.kind === 'primitive' && r.frames.includes(pattern));
  assert.ok(order('folio_wait_writeback') < order('folio_wait_bit*'));
});

test('[sched] frames name the primitive: measured, refined by the visible caller', () => {
  const rwsem = classify([
    '__schedule+0x1/0x2 [sched]',
    'schedule+0x1/0x2 [sched]',
    'rwsem_down_write_slowpath+0x2c1/0x5c0 [sched]',
    'down_write+0x4c/0x60 [sched]',
    'ext4_file_write_iter+0x56/0x1a0',
    'vfs_write+0x23e/0x420',
  ]);
  assert.deepEqual([rwsem.cause, rwsem.frame, rwsem.waits_for, rwsem.inferred], ['lock', 'rwsem_down_write_slowpath', 'i_rwsem', false]);
  assert.equal(CAUSE_RULES[rwsem.rule]!.kind, 'sched');
  const mutex = classify(['__mutex_lock.constprop.0+0x333/0x560 [sched]', 'fdget_pos+0x1/0x2', 'ksys_write+0x1/0x2']);
  assert.deepEqual([mutex.cause, mutex.waits_for, mutex.inferred], ['lock', 'f_pos_lock', false]);
  // The [sched] frame wins over a caller row that inferred something else.
  const io = classify([
    'io_schedule+0x46/0x70 [sched]',
    'bit_wait_io+0x1/0x2 [sched]',
    '__wait_on_bit+0x1/0x2 [sched]',
    '__sync_dirty_buffer+0x1/0x2',
  ]);
  assert.deepEqual([io.cause, io.frame, io.waits_for, io.inferred], ['block-io', 'io_schedule', 'buffer I/O', false]);
  const page = classify(['io_schedule+0x46/0x70 [sched]', 'folio_wait_bit_common+0x13d/0x350', 'filemap_get_pages+0x1/0x2']);
  assert.deepEqual([page.cause, page.waits_for, page.inferred], ['memory', 'page lock', false]);
  const unknownCaller = classify(['__down_common+0x1/0x2 [sched]', 'down+0x1/0x2 [sched]', 'mydrv_ioctl+0x1/0x2 [mydrv]']);
  assert.deepEqual([unknownCaller.cause, unknownCaller.waits_for], ['lock', 'semaphore']);
  const percpu = classify(['__percpu_down_read+0x1/0x2 [sched]', 'mnt_want_write+0x1/0x2', 'do_renameat2+0x1/0x2']);
  assert.deepEqual([percpu.cause, percpu.waits_for], ['lock', 'percpu rwsem']);
  // Generic scheduler frames alone say nothing: the visible frames decide.
  const generic = classify(['schedule+0x1/0x2 [sched]', 'wait_for_completion+0x1/0x2 [sched]', 'submit_bio_wait+0x1/0x2']);
  assert.deepEqual([generic.cause, generic.waits_for, generic.inferred], ['block-io', 'bio', true]);
  // Context rows still come first: a mutex taken in reclaim is memory pressure.
  assert.equal(classify(['__mutex_lock+0x1/0x2 [sched]', 'shrink_node+0x1/0x2', 'try_to_free_pages+0x1/0x2']).cause, 'memory');
});

test('every sched row is reachable', () => {
  CAUSE_RULES.forEach((rule, i) => {
    if (rule.kind !== 'sched') return;
    const f = rule.frames[0]!.replace('*', '_x');
    const c = classify([`${f}+0x1/0x2 [sched]`, 'mydrv_wait+0x1/0x2 [mydrv]']);
    assert.equal(c.rule, i, f);
    assert.equal(c.inferred, false);
  });
});

test('wchan alone (no stack): the same rows, inferred', () => {
  const w = (wchan: string | null): ReturnType<typeof classifyStack> => classify([], wchan);
  assert.deepEqual(
    [w('ext4_file_write_iter').cause, w('ext4_file_write_iter').waits_for, w('ext4_file_write_iter').inferred],
    ['lock', 'i_rwsem', true],
  );
  assert.equal(w('kernel_clone').cause, 'vfork');
  assert.equal(w('jbd2_log_wait_commit').cause, 'journal');
  assert.equal(w('jbd2_log_wait_commit').inferred, true);
  assert.equal(w('folio_wait_bit_common').cause, 'memory');
  assert.equal(w('0').cause, 'unknown');
  assert.equal(w(null).cause, 'unknown');
  assert.equal(classifyStack([]).cause, 'unknown');
  // A real D sample whose wchan named the wait while its stack was being read.
  const s = real('mmap.json', 'D', 'lock_mm_and_find_vma');
  assert.equal(w(s.wchan).waits_for, 'mmap_lock');
  // The stack, when there is one, is what counts.
  assert.equal(classify(['submit_bio_wait+0x1/0x2'], 'fdget_pos').waits_for, 'bio');
});

test('woken R tasks: the I/O, lock and memory waits they were woken from (real 6.18 R samples)', () => {
  const woken = (name: string, innermost: string): ReturnType<typeof classifyWokenStack> =>
    classifyWokenStack(real(name, 'R', innermost).stack);
  assert.equal(woken('own.json', 'submit_bio_wait')?.waits_for, 'bio');
  assert.equal(woken('own.json', '__sync_dirty_buffer')?.waits_for, 'buffer I/O');
  assert.equal(woken('own.json', '__iomap_dio_rw')?.cause, 'block-io');
  assert.equal(woken('shared.json', 'fdget_pos')?.waits_for, 'f_pos_lock');
  assert.equal(woken('mmap.json', 'lock_mm_and_find_vma')?.waits_for, 'mmap_lock');
  assert.equal(woken('fault.json', 'folio_wait_bit_common')?.cause, 'memory');
  assert.equal(woken('dirty.json', 'folio_wait_bit')?.waits_for, 'writeback');
  // CPU work, preemption, returns to user space: not a wait.
  for (const [name, innermost] of [
    ['shared.json', 'exit_to_user_mode_loop'],
    ['mmap.json', 'irqentry_exit_to_user_mode'],
    ['mmap.json', '__get_user_pages'],
    ['dirty.json', 'generic_perform_write'],
    ['read.json', 'filemap_read'],
    ['fault.json', 'mapping_try_invalidate'],
  ] as const) {
    assert.equal(classifyWokenStack(real(name, 'R', innermost).stack), null, innermost);
  }
});

test('woken R tasks: conservative on synthetic stacks', () => {
  assert.equal(classifyWokenStack([]), null);
  // Preempted in a wait site by a timer interrupt: it was running, not woken.
  assert.equal(classifyWokenStack(['__iomap_dio_rw+0x1/0x2', 'irqentry_exit+0x1/0x2', 'asm_sysvec_apic_timer_interrupt+0x1/0x2']), null);
  assert.equal(classifyWokenStack(['preempt_schedule_irq+0x1/0x2 [sched]', 'submit_bio_wait+0x1/0x2']), null);
  // Reclaim work on a CPU is not a wait; a wait inside reclaim is.
  assert.equal(classifyWokenStack(['shrink_folio_list+0x1/0x2', 'shrink_node+0x1/0x2', 'try_to_free_pages+0x1/0x2']), null);
  assert.equal(
    classifyWokenStack(['folio_wait_bit_common+0x1/0x2', 'shrink_folio_list+0x1/0x2', 'try_to_free_pages+0x1/0x2'])?.cause,
    'memory',
  );
  // A woken vfork parent or an NFS waiter is not an I/O, lock or memory wait.
  assert.equal(classifyWokenStack(['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90']), null);
  assert.equal(classifyWokenStack(['io_schedule+0x1/0x2 [sched]', 'rpc_wait_bit_killable+0x1/0x2 [sunrpc]']), null);
  // A bpf stack starting with generic scheduler frames.
  const c = classifyWokenStack([
    '__schedule+0x1/0x2 [sched]',
    'schedule+0x1/0x2 [sched]',
    'rwsem_down_read_slowpath+0x1/0x2 [sched]',
    'lock_mm_and_find_vma+0x1/0x2',
  ]);
  assert.deepEqual([c?.cause, c?.waits_for, c?.inferred], ['lock', 'mmap_lock', false]);
});

interface DocRow {
  index: number;
  kind: string;
  label: string;
  frames: string[];
  waits: string | null;
  kernels: string[];
}

function docRows(): DocRow[] {
  const md = fixture('..', '..', 'docs', 'verdict.md');
  const section = md.slice(md.indexOf('### The rows'));
  const rows: DocRow[] = [];
  for (const line of section.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length !== 8 || !/^\d+$/.test(cells[0]!)) continue;
    const ticks = (s: string): string[] => [...s.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    rows.push({
      index: Number(cells[0]),
      kind: cells[1]!,
      label: cells[2]!,
      frames: ticks(cells[3]!),
      waits: cells[5] === '—' ? null : (ticks(cells[5]!)[0] ?? null),
      kernels: cells[6]!.split(',').map((k) => k.trim()),
    });
  }
  return rows;
}

test('docs/verdict.md lists exactly the rows of the code, in order', () => {
  const doc = docRows();
  assert.equal(doc.length, CAUSE_RULES.length);
  CAUSE_RULES.forEach((rule, i) => {
    const d = doc[i]!;
    assert.equal(d.index, i);
    assert.equal(d.kind, rule.kind, `row ${i}`);
    assert.equal(d.label, CAUSES[rule.cause].label, `row ${i}`);
    assert.deepEqual(d.frames, [...rule.frames, ...(rule.callers ?? [])], `row ${i}`);
    assert.equal(d.waits, rule.waits_for, `row ${i}`);
    assert.deepEqual(d.kernels, [...rule.kernels], `row ${i}`);
  });
});

test('every cause has a label and a short name (one-line outputs), each unique', () => {
  const causes = Object.values(CAUSES);
  assert.deepEqual(
    causes.map((c) => c.id),
    Object.keys(CAUSES),
    'keyed by its id',
  );
  for (const c of causes) {
    assert.ok(c.short.length > 0 && c.short.length <= 20, `${c.id}: "${c.short}" fits a status line`);
    assert.ok(c.short.length <= c.label.length, `${c.id}: short is not longer than the label`);
  }
  assert.equal(new Set(causes.map((c) => c.short)).size, causes.length, 'no two causes share a short name');
  assert.equal(new Set(causes.map((c) => c.label)).size, causes.length, 'no two causes share a label');
});

test('the table: every row has checked kernels, a reason, and the kinds in order', () => {
  const kinds = CAUSE_RULES.map((r) => r.kind);
  const order = ['context', 'sched', 'caller', 'primitive'];
  assert.deepEqual([...new Set(kinds)], order, 'rows are grouped by kind in the order they are tried');
  for (const r of CAUSE_RULES) {
    assert.ok(r.kernels.length > 0 && r.why.length > 0);
    assert.equal(r.hidden !== null, r.kind === 'caller', 'caller rows, and only they, name a hidden primitive');
  }
});

test('every row of the table was decided by at least one test above', (t) => {
  // node:test runs a file's top-level tests in order: this one runs last.
  const missed = CAUSE_RULES.map((_, i) => i).filter((i) => !hit.has(i));
  t.diagnostic(`rows decided: ${hit.size - (hit.has(-1) ? 1 : 0)} of ${CAUSE_RULES.length}`);
  assert.deepEqual(missed, []);
});
