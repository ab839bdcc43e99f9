/**
 * Parsers for the helper's stdout (bpf/loadmon-bpf.c; docs/bpf.md, "Helper
 * protocol"). One record a line, space-separated fields; byte strings that
 * may hold anything (comm, file paths) travel as hex so that no byte can
 * break the framing; addresses are hex and stay inside loadmon (they are
 * symbolised before anything is printed).
 */

import { bpfError, bpfProtocol } from '../errors.ts';
import { type LockOpen, type LockSum, parseLockLine } from './locks.ts';

export const PROTOCOL_VERSION = 3;

/** `ready VERSION cpus=N pass=task-list|iter-task locks=0|1`: the programs are loaded and attached. */
export interface Ready {
  version: number;
  cpus: number;
  /** How a snapshot pass walks the threads: one program run over the task list (6.7+), or iter/task. */
  pass: 'task-list' | 'iter-task';
  /** Whether the lock-wait programs (lock:contention_begin/end, 5.19+) loaded. */
  locks: boolean;
}

/** `fatal KIND message`: the helper could not start (exit status 3). */
export interface Fatal {
  kind: 'perm' | 'btf' | 'load' | 'other';
  message: string;
}

export interface CgroupRef {
  /** cgroup_root.hierarchy_id; 0 is the v2 (unified) hierarchy. */
  hierarchy: number;
  /** kernfs node id: the inode number of the cgroup's directory. */
  id: bigint;
}

/** `t TID PID STATE BLOCKED_NS|- COMM_HEX|- H:ID,...|- ADDR,...|-|!ERRNO` */
export interface TaskRecord {
  tid: number;
  pid: number;
  state: 'R' | 'D';
  /** Nanoseconds off CPU (D only), or null when unknown. */
  blockedNs: bigint | null;
  comm: string;
  cgroups: CgroupRef[];
  /** Kernel return addresses, innermost first. */
  stack: bigint[];
  /** errno of bpf_get_task_stack when it failed (e.g. 14, EFAULT, for an exiting task). */
  stackError: number | null;
}

/** `end THREADS WALK_NS`: the iterator pass is complete. */
export interface SnapshotEnd {
  threads: number;
  walkNs: number;
}

/** `s TID PID COUNT STACK_ID|-`: on-CPU samples of one thread with one user stack. */
export interface SampleRecord {
  tid: number;
  pid: number;
  count: number;
  stackId: number | null;
}

/** `m PID START END OFFSET PATH_HEX|-`: one executable mapping. */
export interface MapRecord {
  pid: number;
  start: bigint;
  end: bigint;
  offset: bigint;
  /** The mapping's name as in /proc/PID/maps (a path, "[vdso]", " (deleted)" suffix...), or "" if anonymous. */
  path: string;
}

export function hexBytes(hex: string): Buffer {
  if (hex === '-') return Buffer.alloc(0);
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw bpfProtocol(`bad hex string '${hex.slice(0, 32)}'`);
  return Buffer.from(hex, 'hex');
}

function int(field: string | undefined, what: string): number {
  if (field === undefined || !/^\d+$/.test(field)) throw bpfProtocol(`bad ${what} '${field ?? ''}'`);
  return Number(field);
}

function bigUint(field: string | undefined, what: string): bigint {
  if (field === undefined || !/^\d{1,20}$/.test(field)) throw bpfProtocol(`bad ${what} '${field ?? ''}'`);
  return BigInt(field);
}

function addr(field: string, what: string): bigint {
  if (!/^[0-9a-f]{1,16}$/.test(field)) throw bpfProtocol(`bad ${what} '${field}'`);
  return BigInt(`0x${field}`);
}

function addrList(field: string | undefined, what: string): bigint[] {
  if (field === undefined) throw bpfProtocol(`missing ${what}`);
  if (field === '-' || field === '') return [];
  return field.split(',').map((a) => addr(a, what));
}

export function parseReady(line: string): Ready | Fatal {
  const f = line.split(' ');
  if (f[0] === 'fatal') {
    const kind = (['perm', 'btf', 'load'] as const).find((k) => k === f[1]) ?? 'other';
    return { kind, message: f.slice(2).join(' ') };
  }
  if (f[0] !== 'ready') throw bpfProtocol(`expected 'ready', got '${line.slice(0, 60)}'`);
  const cpus = /^cpus=(\d+)$/.exec(f[2] ?? '');
  return {
    version: int(f[1], 'protocol version'),
    cpus: cpus ? Number(cpus[1]) : 0,
    pass: f[3] === 'pass=task-list' ? 'task-list' : 'iter-task',
    locks: f[4] === 'locks=1',
  };
}

export function parseTaskLine(line: string): TaskRecord {
  const f = line.split(' ');
  if (f[0] !== 't' || f.length !== 8) throw bpfProtocol(`bad task line '${line.slice(0, 60)}'`);
  const state = f[3];
  if (state !== 'R' && state !== 'D') throw bpfProtocol(`bad task state '${state}'`);
  const blocked = f[4]!;
  if (blocked !== '-' && !/^\d+$/.test(blocked)) throw bpfProtocol(`bad blocked time '${blocked}'`);
  const cgroups: CgroupRef[] = [];
  if (f[6] !== '-') {
    for (const pair of f[6]!.split(',')) {
      const m = /^(\d+):(\d+)$/.exec(pair);
      if (!m) throw bpfProtocol(`bad cgroup '${pair}'`);
      cgroups.push({ hierarchy: Number(m[1]), id: BigInt(m[2]!) });
    }
  }
  const frames = f[7]!;
  const stackError = frames.startsWith('!') ? int(frames.slice(1), 'stack errno') : null;
  return {
    tid: int(f[1], 'tid'),
    pid: int(f[2], 'pid'),
    state,
    blockedNs: blocked === '-' ? null : BigInt(blocked),
    comm: hexBytes(f[5]!).toString('utf8'),
    cgroups,
    stack: stackError === null ? addrList(frames, 'kernel address') : [],
    stackError,
  };
}

export function parseSnapshotEnd(line: string): SnapshotEnd {
  const f = line.split(' ');
  if (f[0] !== 'end' || f.length !== 3) throw bpfProtocol(`bad end line '${line.slice(0, 60)}'`);
  return { threads: int(f[1], 'thread count'), walkNs: int(f[2], 'walk time') };
}

export function parseSampleLine(line: string): SampleRecord {
  const f = line.split(' ');
  if (f[0] !== 's' || f.length !== 5) throw bpfProtocol(`bad sample line '${line.slice(0, 60)}'`);
  return { tid: int(f[1], 'tid'), pid: int(f[2], 'pid'), count: int(f[3], 'count'), stackId: f[4] === '-' ? null : int(f[4], 'stack id') };
}

/** `u STACK_ID ADDR,...`: a user stack, innermost first. */
export function parseUserStackLine(line: string): { id: number; addrs: bigint[] } {
  const f = line.split(' ');
  if (f[0] !== 'u' || f.length !== 3) throw bpfProtocol(`bad user stack line '${line.slice(0, 60)}'`);
  return { id: int(f[1], 'stack id'), addrs: addrList(f[2], 'user address') };
}

export function parseMapLine(line: string): MapRecord {
  const f = line.split(' ');
  if (f[0] !== 'm' || f.length !== 6) throw bpfProtocol(`bad maps line '${line.slice(0, 60)}'`);
  return {
    pid: int(f[1], 'pid'),
    start: addr(f[2]!, 'mapping start'),
    end: addr(f[3]!, 'mapping end'),
    offset: addr(f[4]!, 'mapping offset'),
    path: hexBytes(f[5]!).toString('utf8'),
  };
}

/** `x PID REASON`: that process's maps could not be read (gone, denied, timeout). */
export function parseMapFailure(line: string): { pid: number; reason: string } {
  const f = line.split(' ');
  if (f[0] !== 'x' || f.length !== 3) throw bpfProtocol(`bad maps failure line '${line.slice(0, 60)}'`);
  return { pid: int(f[1], 'pid'), reason: f[2]! };
}

/** A thread's D off-CPU interval(s): its process, the process's comm and cgroup v2 id, the raw kernel stack at switch-out. */
export interface OffcpuInterval {
  tid: number;
  pid: number;
  comm: string;
  /** kernfs id of the thread's cgroup in the v2 hierarchy. */
  cgroup: bigint;
  /** Raw return addresses at switch-out, innermost first (tracepoint and scheduler frames included). */
  stack: bigint[];
}

/** `o TID PID NS COUNT CGROUP COMM_HEX ADDR,...`: completed intervals since the last read, summed. */
export interface OffcpuSum extends OffcpuInterval {
  ns: number;
  count: number;
}

/** `p TID PID START_NS CGROUP COMM_HEX ADDR,...`: an interval still open (the thread is off CPU in D). */
export interface OffcpuOpen extends OffcpuInterval {
  /** CLOCK_MONOTONIC ns at switch-out. */
  startNs: number;
}

/** `e NOW_NS DROPPED LOCK_DROPPED`: the read's CLOCK_MONOTONIC time; intervals and lock waits lost to full maps since the start. */
export interface OffcpuEnd {
  nowNs: number;
  dropped: number;
  lockDropped: number;
}

export function parseOffcpuLine(line: string): OffcpuSum | OffcpuOpen {
  const f = line.split(' ');
  if ((f[0] !== 'o' || f.length !== 8) && (f[0] !== 'p' || f.length !== 7)) throw bpfProtocol(`bad off-CPU line '${line.slice(0, 60)}'`);
  const base = {
    tid: int(f[1], 'tid'),
    pid: int(f[2], 'pid'),
  };
  if (f[0] === 'o') {
    return {
      ...base,
      ns: int(f[3], 'off-CPU time'),
      count: int(f[4], 'interval count'),
      cgroup: bigUint(f[5], 'cgroup id'),
      comm: hexBytes(f[6]!).toString('utf8'),
      stack: addrList(f[7], 'kernel address'),
    };
  }
  return {
    ...base,
    startNs: int(f[3], 'start time'),
    cgroup: bigUint(f[4], 'cgroup id'),
    comm: hexBytes(f[5]!).toString('utf8'),
    stack: addrList(f[6], 'kernel address'),
  };
}

export function parseOffcpuEnd(line: string): OffcpuEnd {
  const f = line.split(' ');
  if (f[0] !== 'e' || f.length !== 4) throw bpfProtocol(`bad off-CPU end line '${line.slice(0, 60)}'`);
  return { nowNs: int(f[1], 'time'), dropped: int(f[2], 'dropped count'), lockDropped: int(f[3], 'lock dropped count') };
}

/* ---- whole replies ---- */

/** A `snapshot` reply: t lines, err lines, `end THREADS WALK_NS`. */
export interface HelperSnapshot {
  tasks: TaskRecord[];
  end: SnapshotEnd;
  /** `err` lines the helper sent (the pass may be incomplete). */
  errors: string[];
}

/** One read of the D off-CPU tracking (docs/bpf.md, "Time blocked, continuously"). */
export interface HelperOffcpu extends OffcpuEnd {
  sums: OffcpuSum[];
  open: OffcpuOpen[];
  /** Sleeping-lock waits: completed (l lines) and still open (w lines); empty without lock tracking. */
  lockSums: LockSum[];
  lockOpen: LockOpen[];
}

/** Throws E_BPF when the pass produced nothing but errors. */
export function parseSnapshotReply(lines: readonly string[]): HelperSnapshot {
  const tasks: TaskRecord[] = [];
  const errors: string[] = [];
  let end: SnapshotEnd | null = null;
  for (const l of lines) {
    if (l.startsWith('t ')) tasks.push(parseTaskLine(l));
    else if (l.startsWith('err ')) errors.push(l.slice(4));
    else if (l.startsWith('end')) end = l === 'end' ? { threads: 0, walkNs: 0 } : parseSnapshotEnd(l);
  }
  if (errors.length > 0 && tasks.length === 0) throw bpfError(`the task iterator failed: ${errors[0]}`);
  if (end === null) throw bpfProtocol('a snapshot reply without its end line');
  return { tasks, end, errors };
}

/** The off-CPU part of a `sample` reply: o, l, p and w lines, then `e NOW DROPPED LOCK_DROPPED`. */
export function parseOffcpuReply(lines: readonly string[]): HelperOffcpu {
  const out: HelperOffcpu = { sums: [], open: [], lockSums: [], lockOpen: [], nowNs: 0, dropped: 0, lockDropped: 0 };
  for (const l of lines) {
    if (l.startsWith('o ')) out.sums.push(parseOffcpuLine(l) as OffcpuSum);
    else if (l.startsWith('p ')) out.open.push(parseOffcpuLine(l) as OffcpuOpen);
    else if (l.startsWith('l ')) out.lockSums.push(parseLockLine(l) as LockSum);
    else if (l.startsWith('w ')) out.lockOpen.push(parseLockLine(l) as LockOpen);
    else if (l.startsWith('err ')) throw bpfError(l.slice(4));
    else if (l.startsWith('e ')) Object.assign(out, parseOffcpuEnd(l));
  }
  return out;
}

/** A `sample` reply: the off-CPU read up to its `e` line (absent when the tracking is not started), then a snapshot reply. */
export function parseSampleReply(lines: readonly string[]): { offcpu: HelperOffcpu | null; pass: HelperSnapshot } {
  const e = lines.findIndex((l) => l.startsWith('e '));
  return { offcpu: e < 0 ? null : parseOffcpuReply(lines.slice(0, e + 1)), pass: parseSnapshotReply(lines.slice(e + 1)) };
}
