/**
 * Wait-for chains (--source bpf): the sleeping locks threads waited for over
 * a period, and the thread holding each one, followed one step further (what
 * the holder itself was doing: "7 threads of dwriter wait for the i_rwsem
 * held by tid 4242 (dwriter), itself in D in submit_bio_wait").
 *
 * Pure: the waits come from src/bpf/locks.ts (LockAccount windows), the
 * holder's state and stack from a lookup the caller provides, and its cause
 * from the caller's classifier.
 */

import type { LockWait } from '../bpf/locks.ts';
import type { ChainLink, ChainTask } from '../model/evidence.ts';
import { getOrCreate } from '../model/maps.ts';
import type { StoredChain } from '../model/timeline.ts';

/** What is known of a holder thread now: its state letter and kernel stack (normalised; empty when unknown). */
export interface HolderState {
  state: string | null;
  stack: string[];
}

export type HolderLookup = (tid: number, pid: number) => HolderState | null;

interface Group {
  lock: LockWait;
  ns: number;
  waiters: Set<number>;
  procs: Map<number, { comm: string; ns: number }>;
  holders: Map<number, { holder: NonNullable<LockWait['holder']>; ns: number }>;
}

/**
 * One link per lock, largest waiting first. `windowMs`: the period the waits
 * cover, so that `waiters` is the mean number of threads waiting.
 */
export function buildChains(
  waits: readonly LockWait[],
  windowMs: number,
  holders: HolderLookup,
  classify: (stack: readonly string[]) => string | null,
): ChainLink[] {
  return buildKeyedChains(waits, windowMs, holders, classify).map(({ key: _k, wait_ms: _w, ...link }) => link);
}

/**
 * The same links with what a store keeps to add windows up: the lock's
 * opaque key (one lock across samples) and the time waited, ms.
 */
export function buildKeyedChains(
  waits: readonly LockWait[],
  windowMs: number,
  holders: HolderLookup,
  classify: (stack: readonly string[]) => string | null,
): StoredChain[] {
  const groups = new Map<string, Group>();
  for (const w of waits) {
    const g = getOrCreate(groups, w.key, () => ({ lock: w, ns: 0, waiters: new Set(), procs: new Map(), holders: new Map() }));
    g.ns += w.ns;
    g.waiters.add(w.waiter.tid);
    const p = g.procs.get(w.waiter.pid) ?? { comm: w.waiter.comm, ns: 0 };
    p.ns += w.ns;
    g.procs.set(w.waiter.pid, p);
    if (w.holder) {
      const h = g.holders.get(w.holder.tid) ?? { holder: w.holder, ns: 0 };
      h.ns += w.ns;
      g.holders.set(w.holder.tid, h);
    }
  }
  const windowNs = windowMs * 1e6;
  const links = [...groups.values()].map((g) => link(g, windowNs, holders, classify));
  return links.sort((a, b) => b.waiters - a.waiters);
}

function link(g: Group, windowNs: number, holders: HolderLookup, classify: (stack: readonly string[]) => string | null): StoredChain {
  const top = [...g.holders.values()].sort((a, b) => b.ns - a.ns)[0];
  let holder: ChainTask | null = null;
  if (top) {
    const now = holders(top.holder.tid, top.holder.pid);
    holder = { pid: top.holder.pid, tid: top.holder.tid, comm: top.holder.comm, state: now?.state ?? null, stack: now?.stack ?? [] };
  }
  return {
    key: g.lock.key,
    wait_ms: Math.round(g.ns / 1e3) / 1e3,
    lock: { kind: g.lock.kind, address: null, name: g.lock.name },
    waiters: windowNs > 0 ? Math.round((g.ns / windowNs) * 1000) / 1000 : 0,
    waiter_threads: g.waiters.size,
    waiter_processes: [...g.procs].sort((a, b) => b[1].ns - a[1].ns).map(([pid, p]) => ({ pid, comm: p.comm })),
    holder,
    holder_cause: holder && holder.stack.length > 0 ? classify(holder.stack) : null,
    other_holders: Math.max(0, g.holders.size - 1),
  };
}
