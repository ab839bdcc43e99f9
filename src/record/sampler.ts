/**
 * The 1 s timeline sample: /proc/loadavg, PSI, and a scan of thread states
 * counted per process. With procfs (ProcfsScan) the scan runs only while
 * load1 is at least the scan level (half the capture threshold): one stat
 * read per thread, no stacks, and each such process's cgroup; below the
 * scan level a sample costs four small reads. With bpf (bpf-scan.ts) a
 * task-iterator pass runs at every sample the recorder takes itself, and
 * once per batch of the waiter's rows below the scan level (fromRows); it
 * adds the time blocked in D per process and stack.
 *
 * /proc/PID/cgroup is safe to read on a sick system (it takes no lock of the
 * target's mm); it is read once per sample per process that has R or D
 * threads, not per thread.
 *
 * The procfs scan also gives each D thread a cause (/metrics'
 * loadmon_uninterruptible_threads_by_cause): its wchan goes through the
 * cause table as a one-frame stack. wchan takes no lock of the target
 * (get_wchan holds only the task's pi_lock, a spinlock; not mmap_lock nor
 * exec_update_lock as `stack` does), so it is read in-process like stat. At
 * most MAX_WCHAN_READS per sample: past that, D threads count as `unknown`.
 */

import { classifyStack } from '../analyze/causes.ts';
import type { Candidate } from '../collect/details.ts';
import { EvidenceSampler } from '../collect/evidence.ts';
import { countByProcess } from '../collect/process-counts.ts';
import { ProcfsCollector } from '../collect/procfs.ts';
import type { OffcpuEntry, StateScan, StoredChain, TimelineSample } from '../model/timeline.ts';
import { parseCgroup } from '../procfs/cgroup.ts';
import { FILE_CAP } from '../procfs/limits.ts';
import { parseLoadavg } from '../procfs/loadavg.ts';
import { PRESSURE_RESOURCES, type Pressure, type PressureResource, readPressures } from '../procfs/pressure.ts';
import { type ProcReader, readerFor, readRequired } from '../procfs/reader.ts';
import { parseWchan } from '../procfs/wchan.ts';
import type { SampleBudget, SampleCauses } from '../store/writer.ts';
import type { WaiterRow } from '../trigger/waiter-protocol.ts';
import type { ScanBudget } from './budget.ts';

type Sample = TimelineSample & SampleCauses & SampleBudget;

/** `sample` with what `res` measured (none: `res` null). */
function withScan(sample: Sample, res: ScanResult | null): Sample {
  if (!res) return sample;
  sample.scan = res.scan;
  if (res.offcpu) sample.offcpu = res.offcpu;
  if (res.dCauses) sample.dCauses = res.dCauses;
  if (res.chains && res.chains.length > 0) sample.chains = res.chains;
  return sample;
}

/** wchan reads per light scan at most: a storm of thousands of D threads costs a bounded ~10 ms more. */
export const MAX_WCHAN_READS = 1000;

export interface SamplerOptions {
  procRoot: string;
  /** load1 at or above which the light scan runs (a source that is `always` ignores it). */
  scanAbove: number;
  /** Where the per-process counts come from; procfs stat reads by default. */
  scan?: ScanSource;
  /** --cpu-budget: which due light scans run (a source that is `always` is not thinned). */
  budget?: ScanBudget;
}

/** What a timeline sample's scan yields. */
export interface ScanResult {
  scan: StateScan;
  /** Time blocked in D since the previous sample, when the source tracks it. */
  offcpu?: { windowMs: number; entries: OffcpuEntry[] };
  /** The sleeping locks waited for since the previous sample, with their holders (bpf). */
  chains?: StoredChain[];
  /** D threads per cause (procfs: from wchan); bpf measures blocked time per stack instead. */
  dCauses?: Record<string, number>;
  /** CPU time (ms) the scan itself used, when the source measures it (procfs: its synchronous reads). */
  cpuMs?: number;
  /** Threads whose state was read (procfs). */
  threads?: number;
}

export interface ScanSource {
  /** Scan at every sample, whatever the load. */
  readonly always: boolean;
  scan(): ScanResult | Promise<ScanResult>;
  close(): void;
}

export class TimelineSampler {
  private readonly root: string;
  private readonly reader: ProcReader;
  private readonly source: ScanSource;
  /** Resources whose pressure file is readable; one that fails once (psi=0: EOPNOTSUPP) is dropped. */
  private readonly psi = new Set<PressureResource>(PRESSURE_RESOURCES);
  private readonly evidence: EvidenceSampler;

  constructor(private readonly opts: SamplerOptions) {
    this.root = opts.procRoot.replace(/\/+$/, '') || '/';
    // A tree that is not a procfs mount is read with the type checks of an untrusted one, like captures.
    this.reader = readerFor(this.root);
    this.source = opts.scan ?? new ProcfsScan(this.root, this.reader);
    this.evidence = new EvidenceSampler({ procRoot: this.root });
  }

  async sample(timeMs: number): Promise<Sample> {
    const la = parseLoadavg(readRequired(`${this.root}/loadavg`, FILE_CAP.loadavg, this.reader));
    const pressure = this.readPressure();
    const due = this.source.always || la.load1 >= this.opts.scanAbove;
    const thinned = due && !this.source.always && this.opts.budget?.take() === false;
    const res = due && !thinned ? await this.measuredScan() : null;
    const sample = withScan({ timeMs, ...la, pressure, scan: null }, res);
    if (thinned) sample.thinned = true;
    // Every sample, so each window is one period long; kept only when the load was high.
    const evidence = this.evidence.sample(timeMs, res ? loadMakers(res.scan) : []);
    if (evidence && res) sample.evidence = evidence;
    return sample;
  }

  /**
   * The native waiter's rows (taken below the scan level) as samples, each
   * with its own time. With procfs none has a scan, as any sample below the
   * scan level. A source that scans `always` (bpf) runs once per batch, now:
   * the last row gets its counts and the time blocked in D since the
   * previous read (the whole batch); the other rows have no scan, booked as
   * not scanned (docs/attribution.md). A failed scan leaves the rows without
   * one and is returned, for the recorder to stop on.
   */
  async fromRows(rows: readonly WaiterRow[]): Promise<{ samples: Sample[]; error: unknown }> {
    const samples = this.unscanned(rows);
    const last = samples.at(-1);
    if (!last || !this.source.always) return { samples, error: null };
    try {
      withScan(last, await this.source.scan());
      return { samples, error: null };
    } catch (err) {
      return { samples, error: err };
    }
  }

  /** The waiter's rows as samples without a scan (not scanned, as below the scan level). */
  unscanned(rows: readonly WaiterRow[]): Sample[] {
    return rows.map((r) => ({ ...r, scan: null }));
  }

  /** Reads the evidence counters now: the next sample's evidence covers the time since. */
  baseline(timeMs: number): void {
    this.evidence.sample(timeMs, []);
  }

  close(): void {
    this.source.close();
  }

  /**
   * The scan, its CPU time booked with the budget: what the source measured
   * of its own reads, else the process's CPU across the call (which, for an
   * asynchronous source, would count whatever else ran meanwhile).
   */
  private async measuredScan(): Promise<ScanResult> {
    const budget = this.source.always ? undefined : this.opts.budget;
    const before = budget ? process.cpuUsage() : null;
    const res = await this.source.scan();
    if (budget && before) budget.record(res.cpuMs ?? cpuMsSince(before));
    return res;
  }

  private readPressure(): Partial<Record<PressureResource, Pressure>> {
    const { values, unreadable } = readPressures(this.reader, this.root, this.psi);
    for (const r of unreadable) this.psi.delete(r);
    return values;
  }
}

/** One procfs light scan of the threads alive now, as record would run it: its CPU (ms) and the threads it read. */
export function measureLightScan(procRoot: string): { threads: number; cpuMs: number } {
  const root = procRoot.replace(/\/+$/, '') || '/';
  const source = new ProcfsScan(root, readerFor(root));
  try {
    const res = source.scan();
    return { threads: res.threads ?? 0, cpuMs: res.cpuMs ?? 0 };
  } finally {
    source.close();
  }
}

/** CPU time (ms, user + system, all threads) the process used since `before`. */
export function cpuMsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** Pids with R or D threads, most first: the processes whose cgroups the evidence looks at. */
function loadMakers(scan: StateScan): number[] {
  return [...scan.procs].sort((a, b) => b.r + b.d - (a.r + a.d)).map((p) => p.pid);
}

/** The light procfs scan: thread states from stat, no stacks. */
class ProcfsScan implements ScanSource {
  readonly always = false;
  private readonly scanner: ProcfsCollector;

  constructor(
    private readonly root: string,
    private readonly reader: ProcReader,
  ) {
    this.scanner = new ProcfsCollector({ procRoot: root, details: 'inline' });
  }

  /**
   * Synchronous from the first read to the last (stat per thread, cgroup
   * per R/D process, wchan per D thread), so the CPU the process used across
   * it is the scan's own, but for what other threads (GC, libuv) ran in
   * those few ms.
   */
  scan(): ScanResult {
    const before = process.cpuUsage();
    const { candidates, threadsScanned } = this.scanner.scanStates();
    const scan = countByProcess(candidates, (pid) => this.cgroupOf(pid));
    const dCauses = this.causesOf(candidates);
    return { scan, dCauses, cpuMs: cpuMsSince(before), threads: threadsScanned };
  }

  /** D threads per cause, each classified from its wchan; one that vanished or is past the cap is `unknown`. */
  private causesOf(candidates: readonly Candidate[]): Record<string, number> {
    const out: Record<string, number> = {};
    let reads = 0;
    for (const c of candidates) {
      if (c.state !== 'D') continue;
      const wchan = reads++ < MAX_WCHAN_READS ? this.wchanOf(c.dir) : null;
      const cause = classifyStack([], wchan).cause;
      out[cause] = (out[cause] ?? 0) + 1;
    }
    return out;
  }

  private wchanOf(dir: string): string | null {
    try {
      return parseWchan(this.reader.readText(`${dir}/wchan`, FILE_CAP.wchan));
    } catch {
      // Gone since the scan (ENOENT/ESRCH): its cause is unknown, it still counted as D.
      return null;
    }
  }

  close(): void {
    this.scanner.close();
  }

  private cgroupOf(pid: number): string | null {
    try {
      return parseCgroup(this.reader.readText(`${this.root}/${pid}/cgroup`, FILE_CAP.cgroup));
    } catch {
      // Gone since the scan, or hidden (hidepid): the process is attributed without a cgroup.
      return null;
    }
  }
}
