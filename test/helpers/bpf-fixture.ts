/**
 * A bpf recording with every optional part, for the tests that feed names
 * through the whole pipeline (the escaping tests, the browser test): real
 * 6.18 stacks of this host, a busy device, cgroups at their io and memory
 * limits, a wait-for chain on an inode's i_rwsem, and a minute of samples
 * carrying scans, measured D, evidence and the chain.
 */

import type { CgroupLimitEvidence, ChainLink, DeviceEvidence, Evidence } from '../../src/model/evidence.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import type { OffcpuEntry, TimelineSample } from '../../src/model/timeline.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { SESSION, sample } from './store.ts';

// Real 6.18 stacks (this host).
export const FLUSH = [
  'submit_bio_wait+0x5b/0xa0',
  'blkdev_issue_flush+0x3c/0x50',
  'ext4_sync_file+0x176/0x3a0',
  'vfs_fsync_range+0x3c/0x90',
  'do_syscall_64+0x7d/0x7f0',
];
export const DIO_WRITE = ['ext4_file_write_iter+0x2f8/0x8a0', 'vfs_write+0x26e/0x450', 'ksys_write+0x6d/0xf0', 'do_syscall_64+0x7d/0x7f0'];
export const CHARGE = ['mem_cgroup_handle_over_high+0x10a/0x250', 'exit_to_user_mode_loop+0x4b/0x120', 'do_syscall_64+0x7d/0x7f0'];
export const RWSEM = [
  'rwsem_down_write_slowpath+0x2c1/0x5c0',
  'down_write_killable+0x4c/0x60',
  'vm_mmap_pgoff+0x9d/0x190',
  'do_syscall_64+0x71/0x290',
];

/** vda flushing writes at 97% utilisation. */
export const BUSY_VDA: DeviceEvidence = {
  name: 'vda',
  dev: '254:0',
  util: 0.97,
  reads_s: 3,
  writes_s: 1800,
  read_kib_s: 12,
  write_kib_s: 7200,
  await_ms: 1.2,
  in_flight: 4,
  queue: 3.9,
};

/** /batch (pid 20) held at its 1 MiB/s write limit on vda. */
export function batchAtIoLimit(detail = 'io: writes 1.00 MiB/s on 254:0 at its limit'): CgroupLimitEvidence {
  return { path: '/batch', limit: 'io', detail, at_limit: true, hierarchy: 'v1', ratio: 1, rate: 0, dev: '254:0', pids: [20] };
}

/** /small (pid 30) at its 64 MiB memory limit. */
export const SMALL_AT_MEMORY_LIMIT: CgroupLimitEvidence = {
  path: '/small',
  limit: 'memory',
  detail: 'memory: 63.9 MiB used of a 64 MiB limit',
  at_limit: true,
  hierarchy: 'v1',
  ratio: 0.99,
  rate: 120,
  dev: null,
  pids: [30],
};

/** dwriter's threads wait for an inode's i_rwsem that its thread 23, flushing, holds. */
export function rwsemChain(holderStack: string[], otherHolders: number): ChainLink {
  return {
    lock: { kind: 'rwsem', address: null, name: 'i_rwsem of inode 12 on vda' },
    waiters: 1.9,
    waiter_threads: 2,
    waiter_processes: [{ pid: 20, comm: 'dwriter' }],
    holder: { pid: 20, tid: 23, comm: 'dwriter', state: 'D', stack: holderStack },
    holder_cause: 'block I/O / writeback, waiting for bio',
    other_holders: otherHolders,
  };
}

type Task = Snapshot['tasks'][number];

/** A thread of dwriter in `state`, its wchan the stack's leaf symbol. */
export function dwriterTask(pid: number, tid: number, state: 'R' | 'D', stack: string[], cgroup: string): Task {
  return { pid, tid, comm: 'dwriter', state, stack, wchan: stack.length ? stack[0]!.replace(/\+.*/, '') : null, cgroup };
}

/** A bpf capture on a 2-CPU host at load 6.5, triggered over a 1.5/cpu threshold; `rest` adds its tasks and parts. */
export function bpfCapture(timeMs: number, rest: Pick<Snapshot, 'tasks' | 'notes'> & Partial<Snapshot>): Snapshot {
  return {
    schema: 'loadmon.snapshot/v1',
    time: new Date(timeMs).toISOString(),
    host: 'vm',
    source: 'bpf',
    cpus: 2,
    loadavg: { load1: 6.5, load5: 4, load15: 2, runnable: 3, threads: 300 },
    trigger: { reason: 'load1>=threshold', threshold: 3, threshold_spec: '1.5/cpu', load1: 6.5, cooldown_ms: 20_000, capture_index: 1 },
    capture: { ms: 3.2, threads_scanned: 300 },
    ...rest,
  };
}

export interface BpfRecording {
  /** Time of the first sample (ms); the session starts at `startedMs` (SESSION's when not given). */
  t0: number;
  startedMs?: number;
  procs: Array<{ pid: number; comm: string; r: number; d: number; cgroup: string }>;
  offcpu: OffcpuEntry[];
  evidence: Omit<Evidence, 'window_ms'>;
  chain: ChainLink;
  capture: Snapshot;
  /** Applied to the session, each sample and the capture before they are written (a poisoner). */
  map?: <T>(v: T) => T;
}

/** Writes a bpf session of 60 samples (1 s apart from t0, load1 6, the chain in each) and the capture. */
export function writeBpfRecording(path: string, r: BpfRecording): void {
  const map = r.map ?? (<T>(v: T): T => v);
  const w = StoreWriter.open(path);
  w.beginSession(map({ ...SESSION, startedMs: r.startedMs ?? SESSION.startedMs, source: 'bpf', scanAbove: 0, threshold: 1 }));
  for (let i = 0; i < 60; i++) {
    const s: TimelineSample = sample(r.t0 + i * 1000, 6, r.procs);
    s.offcpu = { windowMs: 1000, entries: r.offcpu };
    s.evidence = { ...r.evidence, window_ms: 1000 };
    s.chains = [{ ...r.chain, key: 'inode:254:0:12', wait_ms: 1900 }];
    w.insertSample(map(s));
  }
  w.insertCapture(map(r.capture));
  w.close();
}
