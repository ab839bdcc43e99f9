/**
 * Evidence beyond stacks: what the devices, the memory manager, the cgroups
 * and the sleeping locks were doing while the load was high. A stack says
 * where a task waits; this says why the wait is long (a busy device, a
 * cgroup at its limit, a lock holder itself stuck). The report's verdict
 * cites it (docs/verdict.md); its JSON names are the public snake_case ones
 * (docs/store.md, loadmon.report/v1).
 */

/** One block device over a window, from /proc/diskstats deltas (whole devices, not partitions). */
export interface DeviceEvidence {
  /** Kernel name: `vda`, `nvme0n1`, `dm-0`. */
  name: string;
  /** `major:minor`, to match an inode's s_dev or a cgroup's per-device limit. */
  dev: string;
  /** Share of the window the device had I/O in flight (io_ticks), 0..1. */
  util: number;
  reads_s: number;
  writes_s: number;
  read_kib_s: number;
  write_kib_s: number;
  /** Mean time per completed request (reads, writes, discards, flushes), ms; null when none completed. */
  await_ms: number | null;
  /** Requests in flight at the end of the window (field 9). */
  in_flight: number;
  /** Mean requests in the queue over the window (weighted io_ticks / window: iostat's aqu-sz). */
  queue: number;
}

/** Memory-management stalls over a window, from /proc/vmstat deltas, per second. */
export interface MemoryEvidence {
  /** Direct reclaim entries by allocating tasks (allocstall_*). */
  direct_reclaim_s: number;
  /** Pages scanned by direct reclaim (pgscan_direct*). */
  pgscan_direct_s: number;
  /** Direct compaction stalls (compact_stall). */
  compact_stall_s: number;
  /** Major faults (pgmajfault) and swap-ins (pswpin). */
  major_faults_s: number;
  swap_in_s: number;
  /** Page-cache refaults (workingset_refault*): evicted pages read again (thrashing). */
  refaults_s: number;
}

export type LimitKind = 'memory' | 'io' | 'cpu';

/** A cgroup with load-making tasks that was held back by a limit of its own. */
export interface CgroupLimitEvidence {
  /** The cgroup's path in its hierarchy (`/loadmon-test/small`), as /proc/PID/cgroup prints it. */
  path: string;
  limit: LimitKind;
  /** One line for people: "memory: 63.9 MiB used of a 64 MiB limit, 1,234 limit hits/s". */
  detail: string;
  /** True when the window shows the limit biting (hits, throttled periods, rate at the limit). */
  at_limit: boolean;
  /** The cgroup v1 hierarchy or v2: where the figures come from. */
  hierarchy: 'v1' | 'v2';
  /** memory: usage / limit (0..1); io: rate / limit (0..1); cpu: share of periods throttled (0..1). */
  ratio: number | null;
  /** memory: limit hits (failcnt, events max+high) per s; io: 0; cpu: throttled time, s per s. */
  rate: number | null;
  /** io: the device the limit is set on (`254:0`), else null. */
  dev: string | null;
  /** The load-making processes found in it (at most 64): what ties the limit to the tasks it holds back. */
  pids?: number[];
}

/** Everything above over one window (a timeline sample's period, or the time before a capture). */
export interface Evidence {
  /** Length of the window the rates are over, ms. */
  window_ms: number;
  /** Devices with any I/O in the window, busiest first. */
  devices: DeviceEvidence[];
  /** null when /proc/vmstat is unreadable. */
  memory: MemoryEvidence | null;
  /** The cgroups of the load-making tasks that have a limit set; those at it first. */
  cgroups: CgroupLimitEvidence[];
}

/** A sleeping lock that D tasks waited for, and who held it (--source bpf). */
export interface LockRef {
  kind: 'rwsem' | 'mutex' | 'rtmutex' | 'percpu-rwsem' | 'other';
  /** Never printed (kernel addresses are not shown): always null in output. */
  address: string | null;
  /** "i_rwsem of inode 1234 on vda", a static lock's symbol, or null. */
  name: string | null;
}

/** A thread as a chain shows it: the holder of a lock, or the holder's own wait. */
export interface ChainTask {
  pid: number;
  tid: number;
  comm: string;
  /** 'R', 'D', 'S', … as /proc/PID/stat prints it; null when it was not seen. */
  state: string | null;
  /** Kernel stack, innermost first, normalised; empty when unknown (running on a CPU). */
  stack: string[];
}

/** One link of a wait-for chain: `waiters` threads (mean) waited for `lock`, held by `holder`. */
export interface ChainLink {
  lock: LockRef;
  /** Mean threads waiting for it over the period (time waited / time). */
  waiters: number;
  /** Distinct threads seen waiting. */
  waiter_threads: number;
  /** Processes of the waiters, most waiting first. */
  waiter_processes: Array<{ pid: number; comm: string }>;
  /** The holder behind the most waiting; null when the lock had no recorded owner (readers, spinning). */
  holder: ChainTask | null;
  /** The holder's own wait, one step further: its cause and what it waits for. */
  holder_cause: string | null;
  /** Other threads seen holding it, after `holder`. */
  other_holders: number;
}
