/**
 * /metrics for Prometheus (prom-client, text format 0.0.4). One registry per
 * server, refreshed from the store at every scrape; with --record the
 * recorder in the same process writes a sample every --sample, so the
 * values are at most one sample period old.
 *
 * Per-cgroup series are bounded: the 20 cgroups with the most R+D thread
 * observations over the last 5 minutes get their own series, everything
 * else is summed into cgroup="other" (cgroup paths start with '/', so no
 * real cgroup can be called that). R/D counts exist only for samples taken
 * with a light scan (load1 at least half the threshold); otherwise those
 * series are absent and loadmon_sample_scanned is 0.
 *
 * Cause-labelled series have a fixed label set (the cause table's ids, and
 * for captures also `cpu` and `none`), every value present, 0 when unseen:
 * a series that exists only while non-zero breaks rate() and absent()
 * alerts and stacks badly in Grafana. docs/api.md lists the series budget.
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

import { blockedCause } from '../../analyze/blocked.ts';
import { captureVerdict } from '../../analyze/capture-verdict.ts';
import { CAUSES, type CauseId } from '../../analyze/causes.ts';
import { aggregateEvidence } from '../../analyze/evidence.ts';
import { limitRelabel } from '../../analyze/limits.ts';
import type { VerdictLine } from '../../model/report.ts';
import type { LatestSample, StoreReader } from '../../store/reader.ts';

export const TOP_CGROUPS = 20;
export const OTHER = 'other';
export const ACTIVITY_WINDOW_MS = 5 * 60_000;
/** The cause label of D threads: the cause table's ids. */
export const D_CAUSES = Object.keys(CAUSES) as CauseId[];
/** The cause label of captures: the first verdict line's cause, `cpu` for CPU saturation, `none` for no overload. */
export const CAPTURE_CAUSES: readonly string[] = [...D_CAUSES, 'cpu', 'none'];
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A gauge without labels that can be absent: prom-client prints an
 * unlabelled gauge as 0 after reset(), but "not measured" must not read
 * as zero threads. unset() makes it print no sample (HELP and TYPE stay).
 */
class OptionalGauge extends Gauge {
  private known = false;

  /** Sets the value (the only way these gauges are set: they have no labels). */
  put(value: number): void {
    this.known = true;
    this.set(value);
  }

  unset(): void {
    this.known = false;
    this.reset();
  }

  override async get(): Promise<Awaited<ReturnType<Gauge['get']>>> {
    const m = await super.get();
    return this.known ? m : { ...m, values: [] };
  }
}

export class LoadmonMetrics {
  readonly registry = new Registry();
  private readonly load = new Map<'1' | '5' | '15', OptionalGauge>();
  private readonly running: OptionalGauge;
  private readonly blocked: OptionalGauge;
  private readonly cgRunning: Gauge<'cgroup'>;
  private readonly cgBlocked: Gauge<'cgroup'>;
  private readonly scanned: OptionalGauge;
  private readonly measuredD: OptionalGauge;
  private readonly byCause: Gauge<'cause'>;
  private readonly lastSample: OptionalGauge;
  private readonly threshold: OptionalGauge;
  private readonly cpus: OptionalGauge;
  private readonly pressure: Gauge<'resource' | 'kind'>;
  private readonly recording: Gauge;
  private readonly captures: Counter<'cause'>;
  private readonly duration: Histogram;
  /** Captures with an id above this have not been observed in the histogram yet. */
  private seenId: number | null = null;

  constructor(opts: { recording: boolean }) {
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Kept: process_* (the serving process's CPU, memory, fds: what loadmon costs a host, named as every
    // exporter names them). Dropped: nodejs_* (Node internals, ~40 series a host for nobody in a fleet;
    // three are gauges named *_total, which promtool check metrics rejects).
    for (const m of this.registry.getMetricsAsArray()) if (m.name.startsWith('nodejs_')) this.registry.removeSingleMetric(m.name);
    for (const n of ['1', '5', '15'] as const) {
      this.load.set(
        n,
        new OptionalGauge({
          name: `loadmon_load${n}`,
          help: `The ${n}-minute load average (/proc/loadavg) in the newest sample`,
          registers: r,
        }),
      );
    }
    this.running = new OptionalGauge({
      name: 'loadmon_runnable_threads',
      help: 'Threads running or waiting for a CPU (state R) in the newest scanned sample',
      registers: r,
    });
    this.blocked = new OptionalGauge({
      name: 'loadmon_uninterruptible_threads',
      help: 'Threads in uninterruptible sleep (state D, counted in the load average) in the newest scanned sample',
      registers: r,
    });
    this.cgRunning = new Gauge({
      name: 'loadmon_cgroup_runnable_threads',
      help:
        `R threads per cgroup in the newest scanned sample; the ${TOP_CGROUPS} busiest cgroups of the last 5 minutes, the ` +
        `rest summed as cgroup="other"`,
      labelNames: ['cgroup'],
      registers: r,
    });
    this.cgBlocked = new Gauge({
      name: 'loadmon_cgroup_uninterruptible_threads',
      help:
        `D threads per cgroup in the newest scanned sample; the ${TOP_CGROUPS} busiest cgroups of the last 5 minutes, the ` +
        `rest summed as cgroup="other"`,
      labelNames: ['cgroup'],
      registers: r,
    });
    this.measuredD = new OptionalGauge({
      name: 'loadmon_measured_uninterruptible_threads',
      help:
        'Threads in D on average over the newest sample period, from the time they spent blocked (record --source bpf; ' +
        'absent otherwise)',
      registers: r,
    });
    this.byCause = new Gauge({
      name: 'loadmon_uninterruptible_threads_by_cause',
      help:
        'Threads in D by cause (docs/verdict.md cause table) over the newest sample: with --source bpf the mean from the time ' +
        'blocked per stack, with procfs the scanned D threads classified by wchan; every cause present, absent when not scanned',
      labelNames: ['cause'],
      registers: r,
    });
    this.scanned = new OptionalGauge({
      name: 'loadmon_sample_scanned',
      help: '1 when the newest sample counted R and D threads (load1 >= half the threshold), else 0',
      registers: r,
    });
    this.lastSample = new OptionalGauge({
      name: 'loadmon_last_sample_timestamp_seconds',
      help: 'Time of the newest timeline sample, seconds since the epoch',
      registers: r,
    });
    this.threshold = new OptionalGauge({
      name: 'loadmon_threshold_load1',
      help: 'The load1 threshold captures are taken at (the recording session of the newest sample)',
      registers: r,
    });
    this.cpus = new OptionalGauge({
      name: 'loadmon_cpus',
      help: 'CPUs online when the recording session of the newest sample started (load per CPU = loadmon_load1 / loadmon_cpus)',
      registers: r,
    });
    this.pressure = new Gauge({
      name: 'loadmon_pressure_avg10_ratio',
      help: 'Pressure stall information, avg10 (/proc/pressure), as a ratio of time',
      labelNames: ['resource', 'kind'],
      registers: r,
    });
    this.recording = new Gauge({
      name: 'loadmon_recording',
      help: '1 when this process also runs the recorder (serve --record)',
      registers: r,
    });
    this.recording.set(opts.recording ? 1 : 0);
    this.captures = new Counter({
      name: 'loadmon_captures_total',
      help: 'Captures stored since this server started, by the first verdict line of each capture (cause table id, cpu, none)',
      labelNames: ['cause'],
      registers: r,
    });
    for (const cause of CAPTURE_CAUSES) this.captures.inc({ cause }, 0);
    this.duration = new Histogram({
      name: 'loadmon_capture_duration_seconds',
      help: 'Time a capture took (snapshot capture.ms), for captures stored since this server started',
      buckets: DURATION_BUCKETS,
      registers: r,
    });
  }

  /** Reads the store's current state into the metrics. */
  refresh(store: StoreReader): void {
    const latest = store.latestSample();
    const all = [
      this.running,
      this.blocked,
      this.measuredD,
      this.scanned,
      this.lastSample,
      this.threshold,
      this.cpus,
      ...this.load.values(),
    ];
    // The measured window of the newest sample, read once for both the D total and its causes.
    const blocked = latest ? store.blockedAt(latest.t) : null;
    this.setCauses(store, latest, blocked);
    if (!latest) {
      for (const g of all) g.unset();
      this.cgRunning.reset();
      this.cgBlocked.reset();
      this.pressure.reset();
    } else {
      this.load.get('1')!.put(latest.load1);
      this.load.get('5')!.put(latest.load5);
      this.load.get('15')!.put(latest.load15);
      this.lastSample.put(latest.t / 1000);
      this.scanned.put(latest.scanned ? 1 : 0);
      const session = store.sessionAt(latest.t);
      if (session) {
        this.threshold.put(session.threshold);
        this.cpus.put(session.cpus);
      } else {
        this.threshold.unset();
        this.cpus.unset();
      }
      this.setCounts(store, latest.t, latest.scanned ? { r: latest.r ?? 0, d: latest.d ?? 0 } : null);
      if (blocked && blocked.windowMs > 0) this.measuredD.put(blocked.blockedMs / blocked.windowMs);
      else this.measuredD.unset();
      this.pressure.reset();
      const psi: Array<[string, string, number | null]> = [
        ['cpu', 'some', latest.cpuSome],
        ['cpu', 'full', latest.cpuFull],
        ['io', 'some', latest.ioSome],
        ['io', 'full', latest.ioFull],
        ['memory', 'some', latest.memSome],
        ['memory', 'full', latest.memFull],
      ];
      for (const [resource, kind, v] of psi) if (v !== null) this.pressure.set({ resource, kind }, v / 100);
    }
    this.observeNewCaptures(store);
  }

  private setCauses(store: StoreReader, latest: LatestSample | null, blocked: BlockedWindow | null): void {
    this.byCause.reset();
    const values = latest ? dByCause(store, latest, blocked) : null;
    if (values) for (const cause of D_CAUSES) this.byCause.set({ cause }, values.get(cause) ?? 0);
  }

  private setCounts(store: StoreReader, t: number, totals: { r: number; d: number } | null): void {
    this.cgRunning.reset();
    this.cgBlocked.reset();
    if (!totals) {
      this.running.unset();
      this.blocked.unset();
      return;
    }
    this.running.put(totals.r);
    this.blocked.put(totals.d);
    const top = new Set(store.cgroupActivity(t - ACTIVITY_WINDOW_MS, t, TOP_CGROUPS).map((c) => label(c.cgroup)));
    const now = store.cgroupCountsAt(t);
    let otherR = 0;
    let otherD = 0;
    let others = false;
    for (const c of now) {
      const name = label(c.cgroup);
      if (top.has(name)) {
        this.cgRunning.set({ cgroup: name }, c.r);
        this.cgBlocked.set({ cgroup: name }, c.d);
        top.delete(name);
      } else {
        otherR += c.r;
        otherD += c.d;
        others = true;
      }
    }
    // Busy recently, idle now: 0, so a series does not vanish the moment its cgroup goes quiet.
    for (const name of top) {
      this.cgRunning.set({ cgroup: name }, 0);
      this.cgBlocked.set({ cgroup: name }, 0);
    }
    if (others || now.length > 0) {
      this.cgRunning.set({ cgroup: OTHER }, otherR);
      this.cgBlocked.set({ cgroup: OTHER }, otherD);
    }
  }

  private observeNewCaptures(store: StoreReader): void {
    if (this.seenId === null) {
      this.seenId = store.capturesEverStored();
      return;
    }
    for (;;) {
      const batch = store.capturesAfter(this.seenId, 200);
      for (const c of batch) {
        this.duration.observe(c.snapshot.capture.ms / 1000);
        this.captures.inc({ cause: captureCause(captureVerdict(c.id, c.snapshot)) });
        this.seenId = c.id;
      }
      if (batch.length < 200) break;
    }
  }
}

/** The newest sample's measured blocked time (StoreReader.blockedAt). */
type BlockedWindow = ReturnType<StoreReader['blockedAt']>;

/**
 * D threads per cause over the newest sample: measured blocked time per
 * process and stack when the bpf tracking covered it (blockedCause, with
 * the sample's own evidence of cgroup limits, as a capture's verdict uses
 * its own), else the light scan's counts with whatever the store could not
 * attribute (no wchan, a store older than schema v4) as `unknown`; null
 * when the sample was not scanned.
 */
export function dByCause(
  store: StoreReader,
  latest: LatestSample,
  b: BlockedWindow | null = store.blockedAt(latest.t),
): Map<CauseId, number> | null {
  const out = new Map<CauseId, number>();
  const add = (cause: CauseId, n: number) => out.set(cause, (out.get(cause) ?? 0) + n);
  if (b && b.windowMs > 0) {
    const relabel = limitRelabel(aggregateEvidence(store.evidence(latest.t, latest.t, 1)));
    for (const e of store.offcpuTotals(latest.t, latest.t)) add(blockedCause(e, relabel).cause, e.ms / b.windowMs);
    return out;
  }
  if (!latest.scanned) return null;
  let known = 0;
  for (const [cause, n] of Object.entries(latest.dCauses ?? {})) {
    if (!(cause in CAUSES)) continue;
    add(cause as CauseId, n);
    known += n;
  }
  if ((latest.d ?? 0) > known) add('unknown', (latest.d ?? 0) - known);
  return out;
}

/** The capture label of a verdict: its first line's cause. */
export function captureCause(verdict: readonly VerdictLine[]): string {
  const first = verdict[0];
  if (!first) return 'none';
  return first.cause ?? (first.kind === 'cpu-saturation' ? 'cpu' : 'none');
}

/** A cgroup label value: its path, or "unknown" when the process's cgroup could not be read. */
function label(cgroup: string | null): string {
  return cgroup ?? 'unknown';
}
