/**
 * Sleeping-lock waits from the helper's lock:contention_begin/end tracking
 * (bpf/loadmon.bpf.c, on_lock_begin/on_lock_end; docs/bpf.md, "Wait-for
 * chains"): who waited for which lock, held by whom, and for how long within
 * each sample window.
 *
 * The kernel side sums whole waits per (lock, waiter, owner) when they end;
 * a window wants the time waited *within* it, so a wait still open at a read
 * is credited up to the read and the credited part is subtracted when its
 * full length arrives, exactly as OffcpuAccount does for blocked intervals.
 *
 * Lock addresses are kernel addresses: they stop here. Each becomes an
 * opaque key (a per-process counter per address, or the inode for an
 * i_rwsem) and a name; nothing past this module ever sees the address.
 *
 * Pure: the names of static locks and devices come in as functions, so it is
 * tested on sequences of reads (test/unit/locks.test.ts).
 */

import { bpfProtocol } from '../errors.ts';
import type { LockRef } from '../model/evidence.ts';
import { IntervalLedger } from './interval-ledger.ts';

/** lock:contention_begin flags (include/trace/events/lock.h, 5.19 to 6.18). */
export const LCB_F_SPIN = 1;
export const LCB_F_READ = 2;
export const LCB_F_WRITE = 4;
export const LCB_F_RT = 8;
export const LCB_F_PERCPU = 16;
export const LCB_F_MUTEX = 32;

/** What both kinds of lock line carry: the lock, the waiter and the owner at the wait's start. */
export interface LockRecord {
  /** Kernel address of the lock: never leaves src/bpf. */
  lock: bigint;
  flags: number;
  tid: number;
  pid: number;
  /** The waiter's process (group leader's) comm. */
  comm: string;
  /** 0 when no single task held it (readers, a percpu rwsem, a semaphore). */
  ownerTid: number;
  ownerPid: number;
  /** The owner thread's comm, and its process's. */
  ownerComm: string;
  ownerProcessComm: string;
  /** The inode whose i_rwsem this is (0: not an inode lock), and its superblock's dev_t (kernel encoding). */
  ino: number;
  dev: number;
}

/** `l LOCK FLAGS TID PID OWNER_TID OWNER_PID NS COUNT INO DEV COMM OWNER_COMM OWNER_PCOMM`: completed waits, summed. */
export interface LockSum extends LockRecord {
  ns: number;
  count: number;
}

/** `w LOCK FLAGS TID PID OWNER_TID OWNER_PID START_NS INO DEV COMM OWNER_COMM OWNER_PCOMM`: a wait still open. */
export interface LockOpen extends LockRecord {
  /** CLOCK_MONOTONIC ns at contention_begin. */
  startNs: number;
}

/** One thread's wait for one lock within a window (the public, address-free form). */
export interface LockWait {
  /** Opaque and stable while loadmon runs: `inode:MAJ:MIN:INO` for an i_rwsem, else `lock-N`. */
  key: string;
  kind: LockRef['kind'];
  /** "i_rwsem of inode INO on DEV", a static lock's symbol, or null. */
  name: string | null;
  inode: { ino: number; dev: string } | null;
  /** `comm` is the waiter's process's. */
  waiter: { tid: number; pid: number; comm: string };
  /** The owner when the wait began; `comm` is the owner thread's. null: no single owner. */
  holder: { tid: number; pid: number; comm: string } | null;
  /** Time waited within the window. */
  ns: number;
  /** Waits that ended in the window. */
  ended: number;
}

function num(field: string | undefined, what: string): number {
  if (field === undefined || !/^\d{1,20}$/.test(field)) throw bpfProtocol(`bad ${what} '${field ?? ''}'`);
  return Number(field);
}

function comm(field: string | undefined): string {
  if (field === undefined || field === '-') return '';
  if (field.length % 2 !== 0 || !/^[0-9a-f]*$/.test(field)) throw bpfProtocol(`bad hex string '${field.slice(0, 32)}'`);
  return Buffer.from(field, 'hex').toString('utf8');
}

export function parseLockLine(line: string): LockSum | LockOpen {
  const f = line.split(' ');
  const sum = f[0] === 'l';
  if (!((sum && f.length === 14) || (f[0] === 'w' && f.length === 13))) throw bpfProtocol(`bad lock line '${line.slice(0, 60)}'`);
  if (!/^[0-9a-f]{1,16}$/.test(f[1]!)) throw bpfProtocol(`bad lock address '${f[1]}'`);
  const at = sum ? 9 : 8; // where INO is
  const base: LockRecord = {
    lock: BigInt(`0x${f[1]}`),
    flags: num(f[2], 'lock flags'),
    tid: num(f[3], 'tid'),
    pid: num(f[4], 'pid'),
    ownerTid: num(f[5], 'owner tid'),
    ownerPid: num(f[6], 'owner pid'),
    ino: num(f[at], 'inode'),
    dev: num(f[at + 1], 'device'),
    comm: comm(f[at + 2]),
    ownerComm: comm(f[at + 3]),
    ownerProcessComm: comm(f[at + 4]),
  };
  if (sum) return { ...base, ns: num(f[7], 'wait time'), count: num(f[8], 'wait count') };
  return { ...base, startNs: num(f[7], 'wait start') };
}

/** The kind of lock a contention_begin's flags say it is. */
export function lockKind(flags: number): LockRef['kind'] {
  if (flags & LCB_F_PERCPU) return 'percpu-rwsem';
  if (flags & LCB_F_MUTEX) return 'mutex';
  if (flags & (LCB_F_READ | LCB_F_WRITE)) return 'rwsem'; // with LCB_F_RT: PREEMPT_RT's rwbase
  if (flags & LCB_F_RT) return 'rtmutex';
  return 'other'; // flags 0: a counting semaphore (down())
}

/** A kernel dev_t as the superblock holds it (MAJOR << 20 | MINOR) -> "MAJ:MIN". */
export function devString(dev: number): string {
  return `${Math.floor(dev / 2 ** 20)}:${dev % 2 ** 20}`;
}

/** Names locks without letting their addresses out. */
export interface LockNaming {
  /** The symbol of a static lock at this address (kallsyms data symbols), or null. */
  staticName(address: bigint): string | null;
  /** "vda" for "254:0" (or the MAJ:MIN itself when unknown). */
  devName(dev: string): string;
}

/** Distinct lock addresses remembered for their keys; the oldest unused are forgotten past this. */
const MAX_KEYS = 4096;

export interface LockReadLike {
  lockSums: readonly LockSum[];
  lockOpen: readonly LockOpen[];
  nowNs: number;
}

export class LockAccount {
  private readonly ledger = new IntervalLedger();
  private readonly keys = new Map<bigint, string>();
  private nextKey = 1;

  constructor(private readonly naming: LockNaming) {}

  /** The window (previous read, this read]: every wait's time in it, address-free. */
  window(read: LockReadLike): LockWait[] {
    const out = new Map<string, LockWait>();
    const add = (r: LockRecord, ns: number, ended: number): void => {
      if (ns <= 0 && ended === 0) return;
      const w = this.wait(r);
      const k = `${w.key}\0${r.tid}\0${r.ownerTid}`;
      const e = out.get(k);
      if (e) {
        e.ns += Math.max(0, ns);
        e.ended += ended;
      } else out.set(k, { ...w, ns: Math.max(0, ns), ended });
    };
    // A thread's next wait (another start, or another lock) is another interval.
    for (const { interval: o, ns } of this.ledger.credit(read.lockOpen, read.nowNs, (o) => `${o.startNs}:${o.lock}`, sumKey)) add(o, ns, 0);
    for (const s of read.lockSums) add(s, this.ledger.settle(sumKey(s), s.ns), s.count);
    this.ledger.endRead();
    return [...out.values()];
  }

  /** The address-free description of a record's lock, waiter and holder. */
  private wait(r: LockRecord): Omit<LockWait, 'ns' | 'ended'> {
    const kind = lockKind(r.flags);
    const dev = devString(r.dev);
    const inode = kind === 'rwsem' && r.ino > 0 ? { ino: r.ino, dev } : null;
    return {
      key: inode ? `inode:${dev}:${r.ino}` : this.keyOf(r.lock),
      kind,
      name: inode ? `i_rwsem of inode ${r.ino} on ${this.naming.devName(dev)}` : this.naming.staticName(r.lock),
      inode,
      waiter: { tid: r.tid, pid: r.pid, comm: r.comm },
      holder: r.ownerTid > 0 ? { tid: r.ownerTid, pid: r.ownerPid, comm: r.ownerComm || r.ownerProcessComm } : null,
    };
  }

  /** A counter per address, kept in use order: the least recently seen is forgotten first. */
  private keyOf(address: bigint): string {
    let k = this.keys.get(address);
    if (k !== undefined) this.keys.delete(address);
    else k = `lock-${this.nextKey++}`;
    this.keys.set(address, k);
    if (this.keys.size > MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
    return k;
  }
}

function sumKey(r: LockRecord): string {
  return `${r.lock}\0${r.tid}\0${r.ownerTid}`;
}
