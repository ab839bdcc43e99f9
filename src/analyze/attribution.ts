/**
 * Who made the load average: a replay of the kernel's own computation.
 *
 * Every LOAD_FREQ (5 s) the kernel sets
 *     load1 <- load1 * e + n * (1 - e),   e = EXP_1 / 2^11 = 1884/2048,
 * where n is the number of R plus D tasks at that tick. The update is
 * linear in n, so if n is the sum of per-process counts n_p, load1 is the sum
 * of per-process terms c_p updated the same way, plus what was there before
 * the replay started (decayed by e per update). Replaying the timeline's
 * per-process R/D counts at the kernel's update instants therefore splits
 * load1 into per-process (per-cgroup, per-state) contributions that add up to
 * the kernel's figure. The update instants are found from the samples: the
 * load averages change only at an update, so the last change seen fixes the
 * phase, and the others follow every 5 s.
 *
 * Samples taken below the scan level have no per-process counts: their n is
 * estimated from the kernel's own step (n = (load1' - load1 * e) / (1 - e))
 * and booked as "not scanned". A sample whose scan --cpu-budget thinned
 * borrows the counts of the nearest scanned sample (countsAt).
 * docs/attribution.md has the derivation.
 */

import { getOrCreate } from '../model/maps.ts';
import type { Contribution, LoadAttribution } from '../model/report.ts';
import type { ProcPoint, SamplePoint } from '../store/reader.ts';

export type { Contribution, LoadAttribution };

export const EXP_1 = 1884 / 2048;
export const LOAD_FREQ_MS = 5000;
/** Replay length: e^(15 min / 5 s) leaves < 1e-6 of what came before. */
export const REPLAY_WINDOW_MS = 15 * 60_000;

interface Counts {
  pid: number;
  comm: string;
  cgroup: string | null;
  r: number;
  d: number;
}

/** Replays the kernel's load1 over `samples` (time-ordered) with the per-process counts in `procs`. */
export function attributeLoad1(samples: readonly SamplePoint[], procs: readonly ProcPoint[], sampleMs: number): LoadAttribution | null {
  if (samples.length === 0) return null;
  const last = samples[samples.length - 1]!;
  const byTime = new Map<number, Counts[]>();
  for (const p of procs) {
    getOrCreate(byTime, p.t, () => []).push(p);
  }
  const updates = updateInstants(samples, sampleMs);
  const first = samples[0]!;
  let before = first.load1;
  let notScanned = 0;
  const proc = new Map<string, Contribution>();
  const R = { v: 0 };
  const D = { v: 0 };
  let j = 0;
  for (const u of updates) {
    // The sample nearest the update carries the counts the kernel saw.
    while (j + 1 < samples.length && Math.abs(samples[j + 1]!.t - u) <= Math.abs(samples[j]!.t - u)) j++;
    const s = samples[countsAt(samples, j)]!;
    before *= EXP_1;
    notScanned *= EXP_1;
    R.v *= EXP_1;
    D.v *= EXP_1;
    for (const c of proc.values()) {
      c.r *= EXP_1;
      c.d *= EXP_1;
    }
    if (s.scanned) {
      for (const p of byTime.get(s.t) ?? []) {
        const key = `${p.pid}\0${p.comm}\0${p.cgroup ?? ''}`;
        let c = proc.get(key);
        if (!c) {
          c = { key: `pid ${p.pid} (${p.comm})`, pid: p.pid, comm: p.comm, cgroup: p.cgroup, r: 0, d: 0, total: 0 };
          proc.set(key, c);
        }
        c.r += p.r * (1 - EXP_1);
        c.d += p.d * (1 - EXP_1);
        R.v += p.r * (1 - EXP_1);
        D.v += p.d * (1 - EXP_1);
      }
    } else {
      notScanned += estimatedN(samples, j) * (1 - EXP_1);
    }
  }
  const processes = [...proc.values()].map((c) => ({ ...c, total: c.r + c.d })).filter((c) => c.total > 1e-6);
  processes.sort((a, b) => b.total - a.total);
  const model = processes.reduce((a, c) => a + c.total, 0) + before + notScanned;
  return {
    at_ms: last.t,
    kernel_load1: last.load1,
    model_load1: model,
    processes,
    cgroups: byCgroup(processes),
    states: { R: R.v, D: D.v },
    before_window: before,
    not_scanned: notScanned,
    updates: updates.length,
  };
}

/**
 * The kernel's update instants within the samples' span: anchored on the
 * last sample where the averages changed (the update happened between it and
 * the sample before; we take the midpoint), then every LOAD_FREQ_MS.
 */
export function updateInstants(samples: readonly SamplePoint[], sampleMs: number): number[] {
  const first = samples[0]!.t;
  const last = samples[samples.length - 1]!.t;
  let anchor = last;
  for (let i = samples.length - 1; i > 0; i--) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    if (a.load1 !== b.load1 || a.load5 !== b.load5 || a.load15 !== b.load15) {
      anchor = b.t - Math.min(sampleMs, b.t - a.t) / 2;
      break;
    }
  }
  const out: number[] = [];
  // Go back to the first instant after the first sample, then forward to the last sample.
  let u = anchor - Math.floor((anchor - first) / LOAD_FREQ_MS) * LOAD_FREQ_MS;
  if (u <= first) u += LOAD_FREQ_MS;
  for (; u <= last; u += LOAD_FREQ_MS) out.push(u);
  return out;
}

/**
 * The sample whose counts stand for sample j: j itself, or when --cpu-budget
 * thinned j's light scan, the nearest scanned sample across the run of
 * thinned ones around it (the budget scans every k-th sample, so one is at
 * most k/2 samples away). Without one (the run is bounded by samples below
 * the scan level), j: booked as not scanned.
 */
export function countsAt(samples: readonly SamplePoint[], j: number): number {
  if (!samples[j]!.thinned) return j;
  for (let k = 1; ; k++) {
    const a = samples[j - k];
    const b = samples[j + k];
    if (a?.scanned) return j - k;
    if (b?.scanned) return j + k;
    const goOn = (x: SamplePoint | undefined): boolean => x?.thinned === true;
    if (!goOn(a) && !goOn(b)) return j;
  }
}

function estimatedN(samples: readonly SamplePoint[], j: number): number {
  const after = samples[Math.min(j + 1, samples.length - 1)]!;
  const before = samples[Math.max(j - 1, 0)]!;
  return Math.max(0, (after.load1 - before.load1 * EXP_1) / (1 - EXP_1));
}

export function byCgroup(processes: readonly Contribution[]): Contribution[] {
  const m = new Map<string, Contribution>();
  for (const p of processes) {
    const key = p.cgroup ?? '(unknown cgroup)';
    const c = getOrCreate(m, key, () => ({ key, cgroup: p.cgroup ?? null, r: 0, d: 0, total: 0 }));
    c.r += p.r;
    c.d += p.d;
    c.total += p.total;
  }
  return [...m.values()].sort((a, b) => b.total - a.total);
}
