/**
 * Why is a D task waiting? A data-driven cause table over normalised frames
 * (offsets stripped, GCC clone suffixes such as `.constprop.0` ignored).
 *
 * The kernel's stack walker for /proc/PID/stack, wchan and
 * stack_trace_save_tsk() skips every function in `.sched.text`/`.lock.text`
 * (`__sched`: schedule, io_schedule, rwsem_down_write_slowpath, mutex_lock,
 * down_write, bit_wait_io, …), and tail calls leave no frame either. So a
 * thread waiting for an inode's i_rwsem shows `ext4_file_write_iter` as its
 * innermost frame, not the lock. The table therefore has four kinds of row,
 * tried in this order (docs/verdict.md, "How a stack is classified"):
 *
 *  (a) `context` rows match ANY frame and override everything: a vfork
 *      parent, cgroup throttling, reclaim, network filesystems, journals
 *      wait on something else whatever primitive they end in.
 *  (b) `sched` rows match a frame marked ` [sched]` (a scheduler/lock frame
 *      kept from a stack taken at sched_switch by --source bpf): the
 *      primitive is measured, not inferred.
 *  (c) `caller` rows match the INNERMOST visible frame: a function known
 *      (from the kernel sources) to reach a sleeping primitive through
 *      hidden frames; `callers` narrows a row to some callers.
 *  (d) `primitive` rows match ANY frame: primitives that are visible (not
 *      `__sched`), or that other kernels/configs show.
 *  (e) with no stack, wchan (which skips the same frames) goes through the
 *      same rows as a one-frame stack.
 *
 * Every row records the kernels its frames were checked on. docs/verdict.md
 * prints this table; test/unit/causes.test.ts checks that the two agree.
 */

import type { CauseId } from '../model/cause.ts';
import { normalizeFrame } from '../procfs/stack.ts';

// The ids are a domain type (model/cause.ts); re-exported for the table's users.
export type { CauseId };

export interface CauseInfo {
  id: CauseId;
  label: string;
  /** A few words for one-line outputs (`loadmon check`'s status line must fit a monitoring system's field). */
  short: string;
}

export const CAUSES: Record<CauseId, CauseInfo> = {
  vfork: { id: 'vfork', label: 'vfork / process creation', short: 'vfork' },
  cgroup: { id: 'cgroup', label: 'cgroup throttling', short: 'cgroup throttling' },
  memory: { id: 'memory', label: 'page cache or reclaim / memory pressure', short: 'memory pressure' },
  netfs: { id: 'netfs', label: 'NFS or FUSE / network filesystems', short: 'NFS/FUSE' },
  journal: { id: 'journal', label: 'filesystem journal (jbd2, XFS log, btrfs transaction)', short: 'fs journal' },
  'block-io': { id: 'block-io', label: 'block I/O / writeback', short: 'block I/O' },
  lock: { id: 'lock', label: 'mutex / rwsem / mmap_lock contention', short: 'lock contention' },
  unknown: { id: 'unknown', label: 'unknown (no rule matched)', short: 'unknown cause' },
};

export type RuleKind = 'context' | 'sched' | 'caller' | 'primitive';

export interface CauseRule {
  kind: RuleKind;
  cause: CauseId;
  /** Exact function names, or prefixes when they end in '*'. */
  frames: readonly string[];
  /** caller rows only: the next visible frame must match one of these. */
  callers?: readonly string[];
  /** caller rows: the hidden primitive the frames reach; null for other kinds. */
  hidden: string | null;
  /** What the task waits for, when the row knows it. */
  waits_for: string | null;
  /** Kernel versions the frames were checked on (sources; 6.18 = this host's symbols and live stacks). */
  kernels: readonly string[];
  /** Why this row says what it says, and why it sits where it does. */
  why: string;
}

const ALL = ['5.10', '6.1', '6.12', '6.18'] as const;

const CONTEXT_ROWS: readonly CauseRule[] = [
  {
    kind: 'context',
    cause: 'vfork',
    frames: ['__do_sys_vfork', 'wait_for_vfork_done', '__x64_sys_vfork'],
    hidden: null,
    waits_for: 'vfork child',
    kernels: ALL,
    why: 'a vfork parent sleeps in D until its child execs or exits; nothing else is wrong with it',
  },
  {
    kind: 'context',
    cause: 'cgroup',
    frames: [
      'mem_cgroup_handle_over_high',
      'mem_cgroup_oom_synchronize',
      'blkcg_maybe_throttle_current',
      'blk_throtl_*',
      'throtl_*',
      'try_charge_memcg',
      'memory_high_write',
    ],
    hidden: null,
    waits_for: 'cgroup limit',
    kernels: ALL,
    why: 'held back by its cgroup limits (memory.high, io.max), not by the device',
  },
  {
    kind: 'context',
    cause: 'memory',
    frames: [
      'try_to_free_pages',
      'do_try_to_free_pages',
      'try_to_free_mem_cgroup_pages',
      '__alloc_pages_slowpath*',
      '__alloc_pages_direct_compact',
      '__perform_reclaim',
      'shrink_node',
      'shrink_lruvec',
      'shrink_folio_list',
      'shrink_page_list',
      'shrink_inactive_list',
      'try_to_compact_pages',
      'compact_zone',
      'out_of_memory',
      'swap_read_folio',
      'swap_readpage',
      'swapin_readahead',
      'do_swap_page',
      'throttle_direct_reclaim',
      'reclaim_throttle',
    ],
    hidden: null,
    waits_for: 'reclaim',
    kernels: ALL,
    why: 'direct reclaim, compaction and swap-in often end in I/O or locks, so they come before those',
  },
  {
    kind: 'context',
    cause: 'netfs',
    frames: [
      'rpc_wait_bit_killable',
      '__rpc_execute',
      'rpc_execute',
      'nfs_*',
      'nfs4_*',
      'nfs3_*',
      'fuse_*',
      'request_wait_answer',
      'cifs_*',
      'smb2_*',
      'wait_for_response',
      'ceph_*',
      'p9_*',
      'v9fs_*',
    ],
    hidden: null,
    waits_for: 'server',
    kernels: ALL,
    why: 'waits for a server (or a FUSE daemon), whatever local wait it sits in',
  },
  {
    kind: 'context',
    cause: 'journal',
    frames: [
      'jbd2_*',
      'wait_transaction_locked',
      'add_transaction_credits',
      'start_this_handle',
      '__jbd2_log_wait_for_space',
      'xlog_*',
      'xfs_log_force*',
      'xfs_trans_reserve',
      'btrfs_commit_transaction',
      'wait_current_trans',
      'btrfs_wait_*',
    ],
    hidden: null,
    waits_for: 'journal',
    kernels: ALL,
    why: 'journal commits serialise metadata updates (the journal thread itself is block I/O)',
  },
];

/** Scheduler frames that name a primitive; generic ones (schedule, __wait_for_common) are skipped. */
const SCHED_ROWS: readonly CauseRule[] = [
  {
    kind: 'sched',
    cause: 'lock',
    frames: ['rwsem_down_read_slowpath', 'rwsem_down_write_slowpath', 'down_read*', 'down_write*'],
    hidden: null,
    waits_for: 'rwsem',
    kernels: ALL,
    why: 'measured: the task sleeps in the rwsem slow path (i_rwsem, mmap_lock, …)',
  },
  {
    kind: 'sched',
    cause: 'lock',
    frames: ['__mutex_lock*', 'mutex_lock*', '__ww_mutex_lock*', 'ww_mutex_lock*'],
    hidden: null,
    waits_for: 'mutex',
    kernels: ALL,
    why: 'measured: the task sleeps in the mutex slow path',
  },
  {
    kind: 'sched',
    cause: 'lock',
    frames: ['__percpu_down_read', 'percpu_down_write', 'percpu_rwsem_wait'],
    hidden: null,
    waits_for: 'percpu rwsem',
    kernels: ALL,
    why: 'measured: a per-CPU rwsem (sb freeze protection, cgroup threadgroup lock)',
  },
  {
    kind: 'sched',
    cause: 'lock',
    frames: ['__down*', 'down', 'down_killable', 'down_timeout', 'rt_mutex_*'],
    hidden: null,
    waits_for: 'semaphore',
    kernels: ALL,
    why: 'measured: a counting semaphore or an rt_mutex',
  },
  {
    kind: 'sched',
    cause: 'block-io',
    frames: ['io_schedule*', 'bit_wait_io', 'wait_for_completion_io*'],
    hidden: null,
    waits_for: 'I/O',
    kernels: ALL,
    why: 'measured: an I/O wait (counted as iowait); a visible page-lock or buffer frame says which',
  },
];

const INODE_LOCK = 'down_write/down_read of i_rwsem (inode_lock, inode_lock_shared)';

const CALLER_ROWS: readonly CauseRule[] = [
  {
    kind: 'caller',
    cause: 'vfork',
    frames: ['kernel_clone'],
    hidden: 'wait_for_completion_state/_killable (wait_for_vfork_done, inlined)',
    waits_for: 'vfork child',
    kernels: ALL,
    why: 'a D task innermost in kernel_clone is a vfork parent: the only sleep kernel_clone makes itself',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['ext4_file_write_iter', 'ext4_dio_write_iter', 'ext4_buffered_write_iter', 'ext4_dax_write_iter'],
    hidden: INODE_LOCK,
    waits_for: 'i_rwsem',
    kernels: ALL,
    why:
      'ext4 writes take the inode lock first (ext4_dio_write_iter is inlined on 6.18); measured on 6.18 with O_DIRECT ' +
      'appenders on one file',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['generic_file_write_iter', 'btrfs_inode_lock', 'btrfs_file_write_iter'],
    hidden: INODE_LOCK,
    waits_for: 'i_rwsem',
    kernels: ALL,
    why: 'generic and btrfs writes take the inode lock (btrfs_inode_lock from 6.1, inode_lock in btrfs_file_write_iter on 5.10)',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['xfs_ilock'],
    hidden: 'down_write/down_read of the XFS iolock (i_rwsem), mmaplock or ilock',
    waits_for: 'xfs inode lock',
    kernels: ALL,
    why: 'every XFS inode lock goes through xfs_ilock, which is visible',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['do_truncate', 'chown_common', 'chmod_common'],
    hidden: INODE_LOCK,
    waits_for: 'i_rwsem',
    kernels: ALL,
    why: 'truncate, chown and chmod change attributes under the inode lock; do_truncate measured on 6.18',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['lock_rename', 'lock_two_directories', 'do_renameat2'],
    hidden: "down_write of the directories' i_rwsem, mutex_lock of s_vfs_rename_mutex",
    waits_for: 'i_rwsem (directory)',
    kernels: ALL,
    why:
      'rename locks both parents (and the per-sb rename mutex across directories); lock_rename is inlined into do_renameat2 ' +
      'on 6.18 (measured)',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['filename_create', 'open_last_lookups', 'path_openat', 'do_unlinkat', 'do_rmdir', 'vfs_unlink', 'vfs_rmdir', 'iterate_dir'],
    hidden: INODE_LOCK,
    waits_for: 'i_rwsem (directory)',
    kernels: ALL,
    why:
      'create, O_CREAT open, unlink, rmdir and readdir lock the directory inode; open_last_lookups is inlined into ' +
      'path_openat on 6.18 (both measured there, with filename_create)',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['__fdget_pos', 'fdget_pos'],
    hidden: 'mutex_lock of file->f_pos_lock',
    waits_for: 'f_pos_lock',
    kernels: ALL,
    why:
      'threads sharing one file description serialise read/write on its position (__fdget_pos to 6.1, fdget_pos from 6.12; ' +
      'measured on 6.18)',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: [
      'lock_mm_and_find_vma',
      'do_user_addr_fault',
      'vm_mmap_pgoff',
      '__vm_munmap',
      'do_mprotect_pkey',
      'do_madvise',
      '__do_sys_brk',
      '__access_remote_vm',
    ],
    hidden: 'down_read/down_write(_killable) of mmap_lock (mmap_read_lock, mmap_write_lock_killable)',
    waits_for: 'mmap_lock',
    kernels: ALL,
    why:
      'page faults (lock_mm_and_find_vma from 6.1, do_user_addr_fault on 5.10), mmap, munmap, mprotect, madvise, brk and ' +
      '/proc/PID/mem take mmap_lock; four measured on 6.18',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['__wait_rcu_gp', 'synchronize_rcu_normal', 'synchronize_rcu_expedited'],
    hidden: 'wait_for_completion / wait_event of an RCU grace period',
    waits_for: 'rcu grace period',
    kernels: ALL,
    why: 'synchronize_rcu waits in D for every CPU to pass a quiescent state: a synchronisation wait, not I/O',
  },
  {
    kind: 'caller',
    cause: 'lock',
    frames: ['__lru_add_drain_all'],
    hidden: 'mutex_lock of its static drain mutex (flush_work is visible)',
    waits_for: 'lru drain mutex',
    kernels: ALL,
    why: 'lru_add_drain_all serialises callers (fadvise, migration, mlock) on one mutex; measured on 6.18',
  },
  {
    kind: 'caller',
    cause: 'block-io',
    frames: ['__sync_dirty_buffer', 'fsync_buffers_list', '__bread_slow', '__bh_read', 'ext4_wait_block_bitmap', '__ext4_find_entry'],
    hidden: 'bit_wait_io via wait_on_buffer/lock_buffer (__wait_on_buffer is a tail call)',
    waits_for: 'buffer I/O',
    kernels: ALL,
    why: "metadata buffer reads and writes (ext4 bitmaps, directory blocks) wait for the buffer head's I/O; five measured on 6.18",
  },
  {
    kind: 'caller',
    cause: 'block-io',
    frames: ['submit_bio_wait', 'blkdev_issue_flush'],
    hidden: 'wait_for_completion_io (blk_wait_io from 6.12)',
    waits_for: 'bio',
    kernels: ALL,
    why: 'a synchronous bio (a flush, a discard, a metadata read): the device is the wait; measured on 6.18',
  },
  {
    kind: 'caller',
    cause: 'block-io',
    frames: ['inode_dio_wait', '__inode_dio_wait'],
    hidden: 'schedule in wait_var_event / __inode_dio_wait',
    waits_for: 'direct I/O in flight',
    kernels: ALL,
    why: "waits for the inode's direct I/O to drain (truncate, extending direct writes)",
  },
];

const PRIMITIVE_ROWS: readonly CauseRule[] = [
  {
    kind: 'primitive',
    cause: 'block-io',
    frames: [
      'folio_wait_writeback',
      'wait_on_page_writeback',
      'balance_dirty_pages',
      'balance_dirty_pages_ratelimited*',
      'filemap_fdatawait*',
      '__filemap_fdatawait_range',
      'wb_wait_for_completion',
      'writeback_inodes_*',
      'sync_inodes_sb',
      'inode_wait_for_writeback',
      '__inode_wait_for_writeback',
    ],
    hidden: null,
    waits_for: 'writeback',
    kernels: ALL,
    why: 'waiting for writeback or dirty throttling is block I/O by the time it blocks',
  },
  {
    kind: 'primitive',
    cause: 'lock',
    frames: [
      '__mutex_lock*',
      'mutex_lock*',
      'rwsem_down_read_slowpath',
      'rwsem_down_write_slowpath',
      'down_read*',
      'down_write*',
      'percpu_rwsem_wait',
      '__percpu_down_read',
      '__down_common',
    ],
    hidden: null,
    waits_for: null,
    kernels: ALL,
    why: 'sleeping locks, when a stack shows them: the holder is elsewhere (often in I/O); the waiter is contention',
  },
  {
    kind: 'primitive',
    cause: 'memory',
    frames: [
      '__folio_lock*',
      'folio_lock*',
      '__lock_page*',
      'lock_page*',
      'folio_wait_bit*',
      'folio_put_wait_locked',
      'wait_on_page_bit_common',
    ],
    hidden: null,
    waits_for: 'page lock',
    kernels: ALL,
    why:
      'a page-cache page lock or read: another task is reading or truncating that page (folio_wait_bit_common is visible; ' +
      'measured on 6.18)',
  },
  {
    kind: 'primitive',
    cause: 'block-io',
    frames: [
      'io_schedule*',
      'blk_io_schedule',
      'blk_mq_get_tag',
      'submit_bio_wait',
      '__blkdev_direct_IO*',
      'blkdev_direct_IO',
      'iomap_dio_rw',
      '__iomap_dio_rw',
      '__wait_on_buffer',
      'wait_on_buffer',
      'bit_wait_io',
      'blk_execute_rq',
      'blkdev_issue_flush',
    ],
    hidden: null,
    waits_for: 'device',
    kernels: ALL,
    why: 'plain waits for a block device: direct I/O, buffer heads, request tags, synchronous bios',
  },
];

/** The whole table, in the order the kinds are tried. `rule` indexes into it. */
export const CAUSE_RULES: readonly CauseRule[] = [...CONTEXT_ROWS, ...SCHED_ROWS, ...CALLER_ROWS, ...PRIMITIVE_ROWS];

export interface Classification {
  cause: CauseId;
  /** The frame that decided it (normalised symbol), null for unknown. */
  frame: string | null;
  /** Index of the deciding row in CAUSE_RULES, -1 for unknown. */
  rule: number;
  /** What the task waits for, when the row knows: 'i_rwsem', 'f_pos_lock', 'mmap_lock', 'buffer I/O', … */
  waits_for: string | null;
  /** True when read off a caller of a hidden primitive (caller rows, or wchan alone). */
  inferred: boolean;
}

const UNKNOWN: Classification = { cause: 'unknown', frame: null, rule: -1, waits_for: null, inferred: false };

/** Symbol of a normalised frame: "nfs_foo [nfs]" -> "nfs_foo", "kernel_clone+0x1/0x2" -> "kernel_clone". */
export function frameSymbol(frame: string): string {
  const f = normalizeFrame(frame.trim());
  const sp = f.indexOf(' ');
  return sp < 0 ? f : f.slice(0, sp);
}

/** Matching ignores GCC clone suffixes: "ext4_fsync_nojournal.constprop.0" is ext4_fsync_nojournal. */
function baseName(sym: string): string {
  const dot = sym.indexOf('.', 1);
  return dot < 0 ? sym : sym.slice(0, dot);
}

function matches(pattern: string, sym: string): boolean {
  const base = baseName(sym);
  return pattern.endsWith('*') ? base.startsWith(pattern.slice(0, -1)) : base === pattern;
}

function rowMatches(rule: CauseRule, sym: string): boolean {
  return rule.frames.some((p) => matches(p, sym));
}

interface Frame {
  sym: string;
  sched: boolean;
}

function toFrames(stack: readonly string[]): Frame[] {
  return stack.map((f) => ({ sym: frameSymbol(f), sched: f.trimEnd().endsWith(' [sched]') }));
}

function decided(index: number, sym: string, inferred: boolean): Classification {
  const rule = CAUSE_RULES[index]!;
  return { cause: rule.cause, frame: sym, rule: index, waits_for: rule.waits_for, inferred };
}

/** (a) and (d): the first row of `kind`, in table order, any of whose patterns matches any frame. */
function anyFrame(kind: RuleKind, syms: readonly string[]): Classification | null {
  for (let i = 0; i < CAUSE_RULES.length; i++) {
    const rule = CAUSE_RULES[i]!;
    if (rule.kind !== kind) continue;
    const sym = syms.find((s) => rowMatches(rule, s));
    if (sym !== undefined) return decided(i, sym, false);
  }
  return null;
}

/** (c): the innermost visible frame against the caller rows. */
function innermostCaller(syms: readonly string[], inferred: boolean): Classification | null {
  const [first, next] = syms;
  if (first === undefined) return null;
  for (let i = 0; i < CAUSE_RULES.length; i++) {
    const rule = CAUSE_RULES[i]!;
    if (rule.kind !== 'caller' || !rowMatches(rule, first)) continue;
    if (rule.callers && !(next !== undefined && rule.callers.some((p) => matches(p, next)))) continue;
    return decided(i, first, inferred);
  }
  return null;
}

/** (c) then (d) over the visible frames. */
function visible(syms: readonly string[], inferred: boolean): Classification | null {
  return innermostCaller(syms, inferred) ?? anyFrame('primitive', syms);
}

/** (b): the innermost [sched] frame that names a primitive, refined by what the visible frames say. */
function measured(frames: readonly Frame[], seen: Classification | null): Classification | null {
  for (const f of frames) {
    if (!f.sched) continue;
    const i = CAUSE_RULES.findIndex((r) => r.kind === 'sched' && rowMatches(r, f.sym));
    if (i < 0) continue;
    const own = decided(i, f.sym, false);
    // An I/O wait under a visible page-lock frame is a page-cache wait: the visible frame is as measured.
    if (own.cause === 'block-io' && seen?.cause === 'memory') return { ...seen, inferred: false };
    return seen?.cause === own.cause ? { ...own, waits_for: seen.waits_for ?? own.waits_for } : own;
  }
  return null;
}

/**
 * Classifies one kernel stack (innermost first, raw or normalised frames,
 * [sched]-marked frames allowed). With an empty stack, `wchan` is read as a
 * one-frame stack (it skips the same hidden frames).
 */
export function classifyStack(stack: readonly string[], wchan?: string | null): Classification {
  const frames = toFrames(stack);
  if (frames.length === 0) return classifyWchan(wchan);
  const all = frames.map((f) => f.sym);
  const context = anyFrame('context', all);
  if (context) return context;
  const syms = frames.filter((f) => !f.sched).map((f) => f.sym);
  const seen = visible(syms, true);
  return measured(frames, seen) ?? seen ?? UNKNOWN;
}

function classifyWchan(wchan: string | null | undefined): Classification {
  const sym = wchan ? frameSymbol(wchan) : '';
  if (sym === '' || sym === '0') return UNKNOWN;
  const c = anyFrame('context', [sym]) ?? visible([sym], true);
  return c ? { ...c, inferred: true } : UNKNOWN;
}

/** Frames that show a task was preempted or is returning to user space: its last switch was not a wait. */
const PREEMPTED = [
  'preempt_schedule*',
  '__cond_resched',
  'irqentry_exit*',
  'exit_to_user_mode*',
  'syscall_exit_to_user_mode*',
  'asm_sysvec_*',
  'asm_common_interrupt',
  'sysvec_*',
  'ret_from_intr',
  'retint_kernel',
];

const WOKEN_CAUSES: ReadonlySet<CauseId> = new Set<CauseId>(['block-io', 'lock', 'memory', 'journal']);

function isWaitSite(f: Frame): boolean {
  const kinds: readonly RuleKind[] = f.sched ? ['sched'] : ['caller', 'primitive'];
  return CAUSE_RULES.some((r) => kinds.includes(r.kind) && rowMatches(r, f.sym));
}

/** A generic scheduler frame (schedule, __wait_for_common): neither a wait site nor a preemption. */
function isGenericSched(f: Frame): boolean {
  return f.sched && !isWaitSite(f);
}

/**
 * For R tasks: the wait a runnable task was just woken from, when its stack
 * still shows it (a task woken from submit_bio_wait keeps that stack until it
 * runs); null for a CPU-bound or preempted one. Conservative: the innermost
 * frame must itself be a known wait site, no frame may show a preemption or
 * a return to user space, and only I/O, lock, memory and journal waits count.
 */
export function classifyWokenStack(stack: readonly string[]): Classification | null {
  const frames = toFrames(stack);
  // Context rows are not wait sites here: an R task in shrink_folio_list is reclaiming on a CPU.
  if (frames.some((f) => PREEMPTED.some((p) => matches(p, f.sym)))) return null;
  const first = frames.find((f) => !isGenericSched(f));
  if (first === undefined || !isWaitSite(first)) return null;
  const c = classifyStack(stack);
  return WOKEN_CAUSES.has(c.cause) ? c : null;
}

/**
 * For R tasks: why they are runnable when it is not their own CPU demand.
 * A thread woken from a wait and still queued (classifyWokenStack), or one
 * preempted inside direct reclaim, compaction or a memory cgroup's charge:
 * the CPU it wants is the memory manager's work, done because memory (or
 * its cgroup's limit) ran short. Only the memory and cgroup context rows
 * count so: other code a task is preempted in is its own work.
 */
export function classifyRunnableStack(stack: readonly string[]): Classification | null {
  const woken = classifyWokenStack(stack);
  if (woken) return woken;
  const c = classifyStack(stack);
  const row = c.rule >= 0 ? CAUSE_RULES[c.rule] : undefined;
  return row?.kind === 'context' && (c.cause === 'memory' || c.cause === 'cgroup') ? c : null;
}
