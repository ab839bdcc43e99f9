/**
 * Why is a D task waiting? The rule table: ordered rows of (cause, frame
 * patterns) over normalised frames (offsets stripped). A stack's cause is the
 * cause of the FIRST row (in table order) any of whose patterns matches any
 * of its frames. Order encodes specificity: a vfork parent is "process
 * creation" whatever it waits in; reclaim inside a write is "memory
 * pressure", not "block I/O"; a journal wait is "filesystem journal" even
 * though it ends in io_schedule. docs/verdict.md documents this table; a
 * change here is a change there.
 *
 * Patterns are exact function names, or prefixes when they end in '*'.
 * Frames of modules ("nfs_wait_bit_killable [nfs]") match by their symbol.
 */

import { normalizeFrame } from '../procfs/stack.ts';

export type CauseId = 'vfork' | 'cgroup' | 'memory' | 'netfs' | 'journal' | 'block-io' | 'lock' | 'unknown';

export interface CauseInfo {
  id: CauseId;
  label: string;
}

export const CAUSES: Record<CauseId, CauseInfo> = {
  vfork: { id: 'vfork', label: 'vfork / process creation' },
  cgroup: { id: 'cgroup', label: 'cgroup throttling' },
  memory: { id: 'memory', label: 'page cache or reclaim / memory pressure' },
  netfs: { id: 'netfs', label: 'NFS or FUSE / network filesystems' },
  journal: { id: 'journal', label: 'filesystem journal (jbd2, XFS log, btrfs transaction)' },
  'block-io': { id: 'block-io', label: 'block I/O / writeback' },
  lock: { id: 'lock', label: 'mutex / rwsem / mmap_lock contention' },
  unknown: { id: 'unknown', label: 'unknown (no rule matched)' },
};

export interface CauseRule {
  cause: CauseId;
  /** Why this row sits where it does in the order. */
  why: string;
  frames: readonly string[];
}

export const CAUSE_RULES: readonly CauseRule[] = [
  {
    cause: 'vfork',
    why: 'a vfork parent sleeps in D until its child execs or exits; nothing else is wrong with it',
    frames: ['__do_sys_vfork', 'wait_for_vfork_done', '__x64_sys_vfork'],
  },
  {
    cause: 'cgroup',
    why: 'a task held back by its cgroup limits (memory.high, io.max) waits for the limit, not the device',
    frames: [
      'mem_cgroup_handle_over_high',
      'mem_cgroup_oom_synchronize',
      'blkcg_maybe_throttle_current',
      'blk_throtl_*',
      'throtl_*',
      'try_charge_memcg',
      'memory_high_write',
    ],
  },
  {
    cause: 'memory',
    why: 'direct reclaim, compaction and swap-in wait on memory; they often end in I/O or locks, so they come first',
    frames: [
      'try_to_free_pages',
      'do_try_to_free_pages',
      'try_to_free_mem_cgroup_pages',
      '__alloc_pages_slowpath*',
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
  },
  {
    cause: 'netfs',
    why: 'a network or user-space filesystem waits for a server (or daemon), whatever local wait it sits in',
    frames: [
      'rpc_wait_bit_killable',
      '__rpc_execute',
      'rpc_execute',
      'nfs_*',
      'nfs4_*',
      'nfs3_*',
      'nfs_wait_bit_killable',
      'fuse_*',
      'request_wait_answer',
      'cifs_*',
      'smb2_*',
      'wait_for_response',
      'ceph_*',
      'p9_*',
      'v9fs_*',
    ],
  },
  {
    cause: 'journal',
    why: 'journal commits serialise metadata updates; the journal thread itself is in block I/O',
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
  },
  {
    cause: 'block-io',
    why: 'waits for writeback to finish or for dirty-page throttling are block I/O by the time they block',
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
    ],
  },
  {
    cause: 'lock',
    why: 'sleeping locks: the holder is elsewhere (often in I/O); the waiter is contention',
    frames: [
      '__mutex_lock*',
      'mutex_lock*',
      'rwsem_down_read_slowpath',
      'rwsem_down_write_slowpath',
      'down_read*',
      'down_write*',
      'lock_mm_and_find_vma',
      'percpu_rwsem_wait',
      '__percpu_down_read',
      '__down_common',
    ],
  },
  {
    cause: 'memory',
    why: 'waiting for a page-cache page lock: another task is reading or truncating it',
    frames: ['__folio_lock*', 'folio_lock*', '__lock_page*', 'lock_page*', 'folio_wait_bit_common', 'wait_on_page_bit_common'],
  },
  {
    cause: 'block-io',
    why: 'plain waits for a block device: direct I/O, buffer heads, request tags, synchronous bios',
    frames: [
      'io_schedule*',
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
  },
];

/** Symbol of a normalised frame: "nfs_foo [nfs]" -> "nfs_foo", "kernel_clone+0x1/0x2" -> "kernel_clone". */
export function frameSymbol(frame: string): string {
  const f = normalizeFrame(frame.trim());
  const sp = f.indexOf(' ');
  return sp < 0 ? f : f.slice(0, sp);
}

function matches(pattern: string, sym: string): boolean {
  return pattern.endsWith('*') ? sym.startsWith(pattern.slice(0, -1)) : sym === pattern;
}

export interface Classification {
  cause: CauseId;
  /** The frame that decided it (normalised), null for unknown. */
  frame: string | null;
  /** Index of the deciding row in CAUSE_RULES, -1 for unknown. */
  rule: number;
}

/** Classifies one kernel stack (innermost first, raw or normalised frames). */
export function classifyStack(stack: readonly string[]): Classification {
  const syms = stack.map(frameSymbol);
  for (let i = 0; i < CAUSE_RULES.length; i++) {
    const rule = CAUSE_RULES[i]!;
    for (const sym of syms) {
      for (const p of rule.frames) if (matches(p, sym)) return { cause: rule.cause, frame: sym, rule: i };
    }
  }
  return { cause: 'unknown', frame: null, rule: -1 };
}
