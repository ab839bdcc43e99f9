/**
 * Evidence over a period: the per-sample evidence (devices, memory stalls,
 * cgroup limits; src/model/evidence.ts) and wait-for chains folded into one
 * figure each, for the verdict to cite. Means are over the samples that
 * carried the evidence: the high-load samples, the verdict's window.
 */

import type { CgroupLimitEvidence, ChainLink, DeviceEvidence, Evidence, MemoryEvidence } from '../model/evidence.ts';
import type { PeriodCgroupLimit, PeriodEvidence } from '../model/report.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { StoredChain } from '../model/timeline.ts';

export type { PeriodCgroupLimit, PeriodEvidence };

/** Devices cited: at most this many, and only those doing something. */
const MAX_DEVICES = 4;
const MIN_UTIL = 0.01;

/** A capture's own evidence (watch/record: the seconds before it) as a period's; null without any. */
export function captureEvidence(snap: Snapshot): PeriodEvidence | null {
  return snap.evidence ? aggregateEvidence([snap.evidence]) : null;
}

export function aggregateEvidence(items: Iterable<Evidence>): PeriodEvidence | null {
  let n = 0;
  const devs = new Map<string, { sum: DeviceEvidence; awaitW: number; awaitN: number; last: number }>();
  let mem: MemoryEvidence | null = null;
  let memN = 0;
  const cgs = new Map<string, { last: CgroupLimitEvidence; seen: number; bit: number; pids: Set<number> }>();
  for (const e of items) {
    n++;
    for (const d of e.devices) {
      const cur = devs.get(d.name) ?? { sum: { ...zeroDevice(d), dev: d.dev }, awaitW: 0, awaitN: 0, last: 0 };
      addDevice(cur.sum, d);
      if (d.await_ms !== null) {
        const ops = d.reads_s + d.writes_s || 1;
        cur.awaitW += d.await_ms * ops;
        cur.awaitN += ops;
      }
      cur.last = d.in_flight;
      devs.set(d.name, cur);
    }
    if (e.memory) {
      mem = mem ? addMemory(mem, e.memory) : { ...e.memory };
      memN++;
    }
    for (const c of e.cgroups) {
      const key = `${c.limit}\0${c.path}\0${c.dev ?? ''}`;
      const cur = cgs.get(key) ?? { last: c, seen: 0, bit: 0, pids: new Set<number>() };
      cur.seen++;
      if (c.at_limit) cur.bit++;
      // The figures of a sample where it bit say more than a quiet one's.
      if (c.at_limit || !cur.last.at_limit) cur.last = c;
      for (const p of c.pids ?? []) if (cur.pids.size < 64) cur.pids.add(p);
      cgs.set(key, cur);
    }
  }
  if (n === 0) return null;
  const devices = [...devs.values()]
    .map(({ sum, awaitW, awaitN, last }) => ({
      ...scaleDevice(sum, 1 / n),
      await_ms: awaitN > 0 ? awaitW / awaitN : null,
      in_flight: last,
    }))
    .filter((d) => d.util >= MIN_UTIL || d.reads_s + d.writes_s > 0)
    .sort((a, b) => b.util - a.util || b.reads_s + b.writes_s - (a.reads_s + a.writes_s))
    .slice(0, MAX_DEVICES);
  const cgroups = [...cgs.values()]
    .map(({ last, seen, bit, pids }) => ({ ...last, at_limit: bit > 0, at_limit_share: bit / seen, pids: [...pids] }))
    .sort((a, b) => b.at_limit_share - a.at_limit_share);
  return { samples: n, devices, memory: mem && memN > 0 ? scaleMemory(mem, 1 / memN) : null, cgroups };
}

function zeroDevice(d: DeviceEvidence): DeviceEvidence {
  return {
    name: d.name,
    dev: d.dev,
    util: 0,
    reads_s: 0,
    writes_s: 0,
    read_kib_s: 0,
    write_kib_s: 0,
    await_ms: null,
    in_flight: 0,
    queue: 0,
  };
}

function addDevice(a: DeviceEvidence, d: DeviceEvidence): void {
  a.util += d.util;
  a.reads_s += d.reads_s;
  a.writes_s += d.writes_s;
  a.read_kib_s += d.read_kib_s;
  a.write_kib_s += d.write_kib_s;
  a.queue += d.queue;
}

function scaleDevice(a: DeviceEvidence, k: number): DeviceEvidence {
  return {
    ...a,
    util: Math.min(1, a.util * k),
    reads_s: a.reads_s * k,
    writes_s: a.writes_s * k,
    read_kib_s: a.read_kib_s * k,
    write_kib_s: a.write_kib_s * k,
    queue: a.queue * k,
  };
}

const MEMORY_KEYS = ['direct_reclaim_s', 'pgscan_direct_s', 'compact_stall_s', 'major_faults_s', 'swap_in_s', 'refaults_s'] as const;

function addMemory(a: MemoryEvidence, b: MemoryEvidence): MemoryEvidence {
  const out = { ...a };
  for (const k of MEMORY_KEYS) out[k] += b[k];
  return out;
}

function scaleMemory(a: MemoryEvidence, k: number): MemoryEvidence {
  const out = { ...a };
  for (const key of MEMORY_KEYS) out[key] *= k;
  return out;
}

/**
 * Chains over a period: one link per lock (per recording session: keys are
 * per recorder), waiters = time waited / time tracked; the holder is the
 * thread behind the most waiting, as last seen.
 */
export function aggregateChains(items: Iterable<{ session: number; chains: StoredChain[] }>, coveredMs: number): ChainLink[] {
  if (coveredMs <= 0) return [];
  const locks = new Map<
    string,
    {
      link: ChainLink;
      waitMs: number;
      threads: number;
      procs: Map<number, { pid: number; comm: string; ms: number }>;
      holders: Map<number, { ms: number; link: ChainLink }>;
    }
  >();
  for (const { session, chains } of items) {
    for (const c of chains) {
      const key = `${session}\0${c.key}`;
      const cur = locks.get(key) ?? { link: c, waitMs: 0, threads: 0, procs: new Map(), holders: new Map() };
      cur.waitMs += c.wait_ms;
      cur.threads = Math.max(cur.threads, c.waiter_threads);
      for (const p of c.waiter_processes) {
        const e = cur.procs.get(p.pid) ?? { pid: p.pid, comm: p.comm, ms: 0 };
        e.ms += c.wait_ms / Math.max(1, c.waiter_processes.length);
        cur.procs.set(p.pid, e);
      }
      if (c.holder) {
        const h = cur.holders.get(c.holder.tid) ?? { ms: 0, link: c };
        h.ms += c.wait_ms;
        h.link = c;
        cur.holders.set(c.holder.tid, h);
      }
      locks.set(key, cur);
    }
  }
  return [...locks.values()]
    .map(({ link, waitMs, threads, procs, holders }) => {
      const top = [...holders.values()].sort((a, b) => b.ms - a.ms)[0];
      return {
        lock: link.lock,
        waiters: waitMs / coveredMs,
        waiter_threads: threads,
        waiter_processes: [...procs.values()]
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 5)
          .map(({ pid, comm }) => ({ pid, comm })),
        holder: top?.link.holder ?? null,
        holder_cause: top?.link.holder_cause ?? null,
        other_holders: Math.max(0, holders.size - 1),
      };
    })
    .sort((a, b) => b.waiters - a.waiters);
}
