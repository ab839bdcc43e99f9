/**
 * Cgroup limits as a cause. A task held back by its own cgroup's limit
 * shows an ordinary stack: a writer throttled by blkio/io.max waits in plain
 * block I/O (its bios are queued by the throttle, not by the device); a
 * page-cache reader in a cgroup at its memory limit reclaims or re-reads
 * pages it just had. When the evidence shows the limit biting for the cgroup
 * a task is in, its wait is the limit's doing: relabelled 'cgroup'.
 */

import type { Snapshot } from '../model/snapshot.ts';
import { type CauseId, frameSymbol } from './causes.ts';
import { captureEvidence, type PeriodEvidence } from './evidence.ts';

export type Relabel = (pid: number, cause: CauseId, frames: readonly string[]) => CauseId;

/** A limit counts as holding its tasks back when it bit in at least this share of the samples. */
const MIN_BITE = 0.25;

/** Frames (prefixes) of a page-cache read: with a memory limit biting, the re-read of evicted pages is the limit's doing. */
const PAGE_CACHE_READ = [
  'filemap_',
  'page_cache_',
  'do_read_cache',
  'read_pages',
  'ondemand_readahead',
  'force_page_cache_ra',
  'folio_wait_bit',
  '__folio_lock',
  'generic_file_read_iter',
  'ext4_file_read_iter',
  'xfs_file_buffered_read',
  'btrfs_file_read_iter',
];

/** The relabel rule of one capture, from its own evidence: what its verdict, its pprof and `top` classify with. */
export function captureRelabel(snap: Snapshot): Relabel | null {
  return limitRelabel(captureEvidence(snap));
}

export function limitRelabel(ev: PeriodEvidence | null): Relabel | null {
  if (!ev) return null;
  const io = new Set<number>();
  const memory = new Set<number>();
  for (const c of ev.cgroups) {
    if (!c.at_limit || c.at_limit_share < MIN_BITE) continue;
    const into = c.limit === 'io' ? io : c.limit === 'memory' ? memory : null;
    for (const p of c.pids) into?.add(p);
  }
  if (io.size === 0 && memory.size === 0) return null;
  return (pid, cause, frames) => {
    if (io.has(pid) && (cause === 'block-io' || cause === 'journal')) return 'cgroup';
    if (memory.has(pid) && (cause === 'memory' || (cause === 'block-io' && readsPageCache(frames)))) return 'cgroup';
    return cause;
  };
}

function readsPageCache(frames: readonly string[]): boolean {
  return frames.some((f) => {
    const s = frameSymbol(f);
    return PAGE_CACHE_READ.some((p) => s.startsWith(p));
  });
}
