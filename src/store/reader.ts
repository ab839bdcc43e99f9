/**
 * Read-only queries for `report`. Aggregation happens in SQL where the rows
 * are many (7 days of 1 s samples are 600k rows); the recent window that
 * the load-average attribution needs is read row by row.
 */

import type Database from 'better-sqlite3';

import { captureNotFound } from '../errors.ts';
import type { Evidence } from '../model/evidence.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { OffcpuEntry, StoredChain } from '../model/timeline.ts';
import { decodeSnapshot } from './codec.ts';
import { openForRead, type ReadConnection } from './open.ts';
import type { SessionInfo } from './writer.ts';

/** A recording session as stored: what the writer was started with, less its pid. */
export interface Session extends Omit<SessionInfo, 'pid'> {
  id: number;
}

export interface LoadCurve {
  samples: number;
  firstMs: number;
  lastMs: number;
  min: number;
  avg: number;
  max: number;
  /** Samples with load1 >= their session's threshold, times the session's sample period. */
  aboveThresholdMs: number;
  /** Time the samples cover: their count times their session's sample period. */
  sampledMs: number;
  /** Samples where the light scan ran (per-process data exists). */
  scanned: number;
  /** Samples whose due light scan --cpu-budget skipped (scanned = 2). */
  thinned: number;
  meanR: number;
  meanD: number;
  /**
   * Scanned samples taken while load1 was at least half the threshold (the
   * procfs scan level; bpf scans every sample), and their mean R and D: the
   * load while it was high, which the verdict judges.
   */
  highSamples: number;
  highMeanR: number;
  highMeanD: number;
}

/** Sums of R and D thread counts per process over the period. */
export interface ProcessTotal {
  pid: number;
  comm: string;
  cgroup: string | null;
  r: number;
  d: number;
}

export interface SamplePoint {
  t: number;
  load1: number;
  load5: number;
  load15: number;
  scanned: boolean;
  /** The light scan was due but --cpu-budget skipped it (no per-process counts). */
  thinned?: boolean;
  r: number | null;
  d: number | null;
}

export interface ProcPoint {
  t: number;
  pid: number;
  comm: string;
  cgroup: string | null;
  r: number;
  d: number;
}

export interface CaptureRow {
  id: number;
  t: number;
  source: string;
  load1: number;
  r: number;
  d: number;
  contextFromMs: number;
}

export interface PressurePoint {
  t: number;
  cpuSome: number | null;
  cpuFull: number | null;
  ioSome: number | null;
  ioFull: number | null;
  memSome: number | null;
  memFull: number | null;
}

/**
 * One bucket of a downsampled timeline (timelineBuckets): the first sample's
 * time, and the maximum of each column over the bucket (peaks are what a
 * forensic chart must not lose). Loads are load averages, PSI are avg10 in
 * percent; null where no sample of the bucket had the value.
 */
export interface TimelineBucket {
  t: number;
  samples: number;
  load1: number;
  load5: number;
  load15: number;
  runnable: number | null;
  r: number | null;
  d: number | null;
  cpuSome: number | null;
  ioSome: number | null;
  ioFull: number | null;
  memSome: number | null;
  memFull: number | null;
  /** Utilisation of the busiest block device (0..1), from the high-load samples' evidence (schema v3). */
  diskUtil: number | null;
}

/** The newest timeline sample, every column. */
export interface LatestSample extends PressurePoint {
  load1: number;
  load5: number;
  load15: number;
  runnable: number | null;
  threads: number | null;
  scanned: boolean;
  r: number | null;
  d: number | null;
  sessionId: number;
  /** D threads per cause of the light scan (schema v4, procfs); null when not stored. */
  dCauses: Record<string, number> | null;
}

/** Time blocked in D, summed over a period for one process and one stack (--source bpf): a sample's entry, over more time. */
export type OffcpuTotal = OffcpuEntry;

/** R and D threads of one cgroup (summed over its processes). */
export interface CgroupCount {
  cgroup: string | null;
  r: number;
  d: number;
}

/** A scanned sample taken while load1 was at least half its session's threshold. */
const HIGH = '(scanned = 1 AND (x.threshold IS NULL OR load1_c >= CAST(ROUND(x.threshold * 50) AS INTEGER)))';

export class StoreReader {
  private readonly db: Database.Database;

  private constructor(
    readonly path: string,
    private readonly conn: ReadConnection,
  ) {
    this.db = conn.db;
  }

  /** Opens read-only: E_STORE_MISSING, E_STORE_VERSION, E_STORE_CORRUPT or E_STORE naming the path. */
  static open(path: string): StoreReader {
    return new StoreReader(path, openForRead(path));
  }

  /** First and last time held (samples or captures), or null for an empty store. */
  span(): { first: number; last: number } | null {
    const r = this.db
      .prepare(
        // One MIN or MAX per subquery: SQLite answers each from the index end
        // (MIN and MAX in one SELECT would scan the whole table: 150 ms at 7 days).
        `SELECT MIN(lo) AS first, MAX(hi) AS last FROM (
           SELECT (SELECT MIN(t_ms) FROM samples) AS lo, (SELECT MAX(t_ms) FROM samples) AS hi
           UNION ALL SELECT (SELECT MIN(t_ms) FROM captures), (SELECT MAX(t_ms) FROM captures))`,
      )
      .get() as { first: number | null; last: number | null };
    return r.first === null || r.last === null ? null : { first: r.first, last: r.last };
  }

  sessions(): Session[] {
    return (this.db.prepare('SELECT * FROM sessions ORDER BY id').all() as Array<Record<string, unknown>>).map((r) => ({
      id: r.id as number,
      startedMs: r.started_ms as number,
      host: r.host as string,
      cpus: r.cpus as number,
      source: r.source as string,
      threshold: r.threshold as number,
      thresholdSpec: r.threshold_spec as string,
      scanAbove: r.scan_above as number,
      sampleMs: r.sample_ms as number,
    }));
  }

  loadCurve(from: number, to: number): LoadCurve | null {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n, MIN(s.t_ms) AS first, MAX(s.t_ms) AS last,
                MIN(load1_c) AS lo, AVG(load1_c) AS av, MAX(load1_c) AS hi,
                SUM(CASE WHEN load1_c >= CAST(ROUND(x.threshold * 100) AS INTEGER) THEN x.sample_ms ELSE 0 END) AS above,
                SUM(COALESCE(x.sample_ms, 1000)) AS sampled, SUM(scanned = 1) AS scanned, SUM(scanned = 2) AS thinned,
                SUM(COALESCE(r, 0)) AS rs, SUM(COALESCE(d, 0)) AS ds,
                SUM(${HIGH}) AS hn, SUM(CASE WHEN ${HIGH} THEN r ELSE 0 END) AS hr, SUM(CASE WHEN ${HIGH} THEN d ELSE 0 END) AS hd
         FROM samples s LEFT JOIN sessions x ON x.id = s.session_id
         WHERE s.t_ms BETWEEN ? AND ?`,
      )
      .get(from, to) as Record<string, number | null>;
    if (!r.n) return null;
    const n = r.n;
    return {
      samples: n,
      firstMs: r.first!,
      lastMs: r.last!,
      min: r.lo! / 100,
      avg: r.av! / 100,
      max: r.hi! / 100,
      aboveThresholdMs: r.above ?? 0,
      sampledMs: r.sampled ?? 0,
      scanned: r.scanned ?? 0,
      thinned: r.thinned ?? 0,
      meanR: (r.rs ?? 0) / n,
      meanD: (r.ds ?? 0) / n,
      highSamples: r.hn ?? 0,
      highMeanR: r.hn ? (r.hr ?? 0) / r.hn : 0,
      highMeanD: r.hn ? (r.hd ?? 0) / r.hn : 0,
    };
  }

  processTotals(from: number, to: number): ProcessTotal[] {
    return this.db
      .prepare(
        `SELECT p.pid AS pid, p.comm AS comm, p.cgroup AS cgroup, SUM(sp.r) AS r, SUM(sp.d) AS d
         FROM sample_procs sp JOIN procs p ON p.id = sp.proc_id
         WHERE sp.t_ms BETWEEN ? AND ?
         GROUP BY sp.proc_id`,
      )
      .all(from, to) as ProcessTotal[];
  }

  /**
   * Samples of the period that the off-CPU tracking covered, and the time
   * their windows add up to. 0 on a store written before the tracking existed.
   */
  offcpuCoverage(from: number, to: number): { samples: number; ms: number } {
    if (this.schemaVersion() < 2) return { samples: 0, ms: 0 };
    const r = this.db
      .prepare('SELECT COUNT(*) AS n, SUM(offcpu) AS ms FROM samples WHERE t_ms BETWEEN ? AND ? AND offcpu IS NOT NULL')
      .get(from, to) as { n: number; ms: number | null };
    return { samples: r.n, ms: r.ms ?? 0 };
  }

  /**
   * The high-load samples the off-CPU tracking covered (the verdict's
   * window): how many, the time their windows add up to, and the time
   * blocked in D within them, ms.
   */
  highOffcpu(from: number, to: number): { samples: number; ms: number; blockedMs: number } {
    if (this.schemaVersion() < 2) return { samples: 0, ms: 0, blockedMs: 0 };
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n, SUM(s.offcpu) AS ms, SUM(COALESCE(b.us, 0)) AS us
         FROM samples s LEFT JOIN sessions x ON x.id = s.session_id
         LEFT JOIN (SELECT t_ms, SUM(us) AS us FROM sample_offcpu WHERE t_ms BETWEEN ? AND ? GROUP BY t_ms) b ON b.t_ms = s.t_ms
         WHERE s.t_ms BETWEEN ? AND ? AND s.offcpu IS NOT NULL AND ${HIGH}`,
      )
      .get(from, to, from, to) as { n: number; ms: number | null; us: number | null };
    return { samples: r.n, ms: r.ms ?? 0, blockedMs: (r.us ?? 0) / 1000 };
  }

  /** Time blocked in D per process and stack over the period, most first. */
  offcpuTotals(from: number, to: number): OffcpuTotal[] {
    if (this.schemaVersion() < 2) return [];
    return (
      this.db
        .prepare(
          `SELECT p.pid, p.comm, p.cgroup, k.frames, SUM(o.us) AS us, SUM(o.ended) AS ended
           FROM sample_offcpu o JOIN procs p ON p.id = o.proc_id JOIN stacks k ON k.id = o.stack_id
           WHERE o.t_ms BETWEEN ? AND ?
           GROUP BY o.proc_id, o.stack_id ORDER BY us DESC`,
        )
        .raw()
        .all(from, to) as Array<[number, string, string | null, string, number, number]>
    ).map(([pid, comm, cgroup, frames, us, ended]) => ({
      pid,
      comm,
      cgroup,
      stack: frames === '' ? [] : frames.split('\n'),
      ms: us / 1000,
      ended,
    }));
  }

  samples(from: number, to: number): SamplePoint[] {
    return (
      this.db
        .prepare('SELECT t_ms, load1_c, load5_c, load15_c, scanned, r, d FROM samples WHERE t_ms BETWEEN ? AND ? ORDER BY t_ms')
        .raw()
        .all(from, to) as Array<[number, number, number, number, number, number | null, number | null]>
    ).map(([t, l1, l5, l15, sc, r, d]) => ({
      t,
      load1: l1 / 100,
      load5: l5 / 100,
      load15: l15 / 100,
      scanned: sc === 1,
      thinned: sc === 2,
      r,
      d,
    }));
  }

  procPoints(from: number, to: number): ProcPoint[] {
    return this.db
      .prepare(
        `SELECT sp.t_ms AS t, p.pid AS pid, p.comm AS comm, p.cgroup AS cgroup, sp.r AS r, sp.d AS d
         FROM sample_procs sp JOIN procs p ON p.id = sp.proc_id
         WHERE sp.t_ms BETWEEN ? AND ? ORDER BY sp.t_ms`,
      )
      .all(from, to) as ProcPoint[];
  }

  /** Peak PSI avg10 per resource over the period (percent), null where not recorded. */
  pressurePeaks(from: number, to: number): Omit<PressurePoint, 't'> {
    const r = this.db
      .prepare(
        `SELECT MAX(cpu_some_c) AS cs, MAX(cpu_full_c) AS cf, MAX(io_some_c) AS ios, MAX(io_full_c) AS iof,
                MAX(mem_some_c) AS ms, MAX(mem_full_c) AS mf FROM samples WHERE t_ms BETWEEN ? AND ?`,
      )
      .get(from, to) as Record<string, number | null>;
    const p = (x: number | null | undefined): number | null => (x === null || x === undefined ? null : x / 100);
    return { cpuSome: p(r.cs), cpuFull: p(r.cf), ioSome: p(r.ios), ioFull: p(r.iof), memSome: p(r.ms), memFull: p(r.mf) };
  }

  captures(from: number, to: number): CaptureRow[] {
    return this.db
      .prepare(
        `SELECT id, t_ms AS t, source, load1, r, d, context_from_ms AS contextFromMs
         FROM captures WHERE t_ms BETWEEN ? AND ? ORDER BY t_ms`,
      )
      .all(from, to) as CaptureRow[];
  }

  captureRow(id: number): CaptureRow | null {
    return (
      (this.db.prepare('SELECT id, t_ms AS t, source, load1, r, d, context_from_ms AS contextFromMs FROM captures WHERE id = ?').get(id) as
        | CaptureRow
        | undefined) ?? null
    );
  }

  /** The stored snapshot of capture `id`; E_CAPTURE_NOT_FOUND when there is none. */
  snapshot(id: number): Snapshot {
    const r = this.db.prepare('SELECT snapshot FROM captures WHERE id = ?').get(id) as { snapshot: Buffer } | undefined;
    if (!r) throw captureNotFound(String(id));
    return decodeSnapshot(r.snapshot);
  }

  /** Every snapshot in the period, oldest first, decoded one at a time. */
  *snapshots(from: number, to: number): Generator<{ id: number; snapshot: Snapshot }> {
    const it = this.db.prepare('SELECT id, snapshot FROM captures WHERE t_ms BETWEEN ? AND ? ORDER BY t_ms').iterate(from, to);
    for (const r of it as Iterable<{ id: number; snapshot: Buffer }>) yield { id: r.id, snapshot: decodeSnapshot(r.snapshot) };
  }

  /** The light samples of a capture's pre-trigger context window. */
  contextSummary(from: number, to: number): { samples: number; scanned: number; maxLoad1: number | null } {
    const r = this.db
      .prepare('SELECT COUNT(*) AS n, SUM(scanned = 1) AS sc, MAX(load1_c) AS hi FROM samples WHERE t_ms BETWEEN ? AND ?')
      .get(from, to) as { n: number; sc: number | null; hi: number | null };
    return { samples: r.n, scanned: r.sc ?? 0, maxLoad1: r.hi === null ? null : r.hi / 100 };
  }

  /**
   * The samples of [from, to] in buckets of bucketMs (bucket k holds
   * from + k*bucketMs <= t < from + (k+1)*bucketMs), oldest first; empty
   * buckets are absent. One pass over the rows in SQL.
   */
  timelineBuckets(from: number, to: number, bucketMs: number): TimelineBucket[] {
    const step = Math.max(1, Math.floor(bucketMs));
    // Devices come busiest first in a sample's evidence.
    const disk = this.schemaVersion() >= 3 ? "MAX(json_extract(evidence, '$.devices[0].util'))" : 'NULL';
    const rows = this.db
      .prepare(
        `SELECT MIN(t_ms), COUNT(*), MAX(load1_c), MAX(load5_c), MAX(load15_c), MAX(runnable), MAX(r), MAX(d),
                MAX(cpu_some_c), MAX(io_some_c), MAX(io_full_c), MAX(mem_some_c), MAX(mem_full_c), ${disk}
         FROM samples WHERE t_ms BETWEEN ? AND ? GROUP BY CAST((t_ms - ?) / ? AS INTEGER) ORDER BY 1`,
      )
      .raw()
      .all(from, to, from, step) as Array<Array<number | null>>;
    const c = (x: number | null | undefined): number | null => (x === null || x === undefined ? null : x / 100);
    return rows.map((r) => ({
      t: r[0]!,
      samples: r[1]!,
      load1: r[2]! / 100,
      load5: r[3]! / 100,
      load15: r[4]! / 100,
      runnable: r[5] ?? null,
      r: r[6] ?? null,
      d: r[7] ?? null,
      cpuSome: c(r[8]),
      ioSome: c(r[9]),
      ioFull: c(r[10]),
      memSome: c(r[11]),
      memFull: c(r[12]),
      diskUtil: r[13] ?? null,
    }));
  }

  /** The newest sample, or null for a store without samples. */
  latestSample(): LatestSample | null {
    const r = this.db.prepare('SELECT * FROM samples ORDER BY t_ms DESC LIMIT 1').get() as Record<string, number | null> | undefined;
    if (!r) return null;
    const c = (x: number | null | undefined): number | null => (x === null || x === undefined ? null : x / 100);
    return {
      t: r.t_ms!,
      sessionId: r.session_id!,
      load1: r.load1_c! / 100,
      load5: r.load5_c! / 100,
      load15: r.load15_c! / 100,
      runnable: r.runnable ?? null,
      threads: r.threads ?? null,
      scanned: r.scanned === 1,
      r: r.r ?? null,
      d: r.d ?? null,
      cpuSome: c(r.cpu_some_c),
      cpuFull: c(r.cpu_full_c),
      ioSome: c(r.io_some_c),
      ioFull: c(r.io_full_c),
      memSome: c(r.mem_some_c),
      memFull: c(r.mem_full_c),
      dCauses: dCauses((r as Record<string, unknown>).d_causes),
    };
  }

  /** The sample at `t`: the window its off-CPU tracking covered and the time blocked in D in it (ms); null without tracking. */
  blockedAt(t: number): { windowMs: number; blockedMs: number } | null {
    if (this.schemaVersion() < 2) return null;
    const r = this.db
      .prepare('SELECT s.offcpu AS w, (SELECT SUM(us) FROM sample_offcpu o WHERE o.t_ms = s.t_ms) AS us FROM samples s WHERE s.t_ms = ?')
      .get(t) as { w: number | null; us: number | null } | undefined;
    return r && r.w !== null ? { windowMs: r.w, blockedMs: (r.us ?? 0) / 1000 } : null;
  }

  cgroupCountsAt(t: number): CgroupCount[] {
    return this.db
      .prepare(
        `SELECT p.cgroup AS cgroup, SUM(sp.r) AS r, SUM(sp.d) AS d
         FROM sample_procs sp JOIN procs p ON p.id = sp.proc_id WHERE sp.t_ms = ? GROUP BY p.cgroup`,
      )
      .all(t) as CgroupCount[];
  }

  /** R plus D thread observations per cgroup over [from, to], busiest first. */
  cgroupActivity(from: number, to: number, limit: number): Array<{ cgroup: string | null; total: number }> {
    return this.db
      .prepare(
        `SELECT p.cgroup AS cgroup, SUM(sp.r + sp.d) AS total
         FROM sample_procs sp JOIN procs p ON p.id = sp.proc_id WHERE sp.t_ms BETWEEN ? AND ?
         GROUP BY p.cgroup ORDER BY total DESC, cgroup LIMIT ?`,
      )
      .all(from, to, limit) as Array<{ cgroup: string | null; total: number }>;
  }

  /**
   * The evidence of the period's high samples (the verdict's window), oldest
   * first, at most `limit` of them spread evenly over the period: a week of
   * high load is judged from a sample every few minutes, not 600k JSON rows.
   */
  *evidence(from: number, to: number, limit: number): Generator<Evidence> {
    if (this.schemaVersion() < 3) return;
    const n = (
      this.db.prepare('SELECT COUNT(*) AS n FROM samples WHERE t_ms BETWEEN ? AND ? AND evidence IS NOT NULL').get(from, to) as {
        n: number;
      }
    ).n;
    const stride = Math.max(1, Math.ceil(n / Math.max(1, limit)));
    const it = this.db
      .prepare('SELECT evidence FROM samples WHERE t_ms BETWEEN ? AND ? AND evidence IS NOT NULL ORDER BY t_ms')
      .raw()
      .iterate(from, to) as Iterable<[string]>;
    let i = 0;
    for (const [json] of it) {
      if (i++ % stride !== 0) continue;
      const e = parseJson<Evidence>(json);
      if (e) yield e;
    }
  }

  /** The wait-for chain links of the period's samples (--source bpf), oldest first, with their session. */
  *chains(from: number, to: number): Generator<{ session: number; t: number; chains: StoredChain[] }> {
    if (this.schemaVersion() < 3) return;
    const it = this.db
      .prepare('SELECT session_id, t_ms, chains FROM samples WHERE t_ms BETWEEN ? AND ? AND chains IS NOT NULL ORDER BY t_ms')
      .raw()
      .iterate(from, to) as Iterable<[number, number, string]>;
    for (const [session, t, json] of it) {
      const chains = parseJson<StoredChain[]>(json);
      if (Array.isArray(chains)) yield { session, t, chains };
    }
  }

  /** Captures ever stored in this store (AUTOINCREMENT's counter: retention does not lower it). */
  capturesEverStored(): number {
    const r = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'captures'").get() as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  /** Captures with an id above `afterId`, oldest first, at most `limit`, snapshots decoded. */
  capturesAfter(afterId: number, limit: number): Array<{ id: number; snapshot: Snapshot }> {
    return (
      this.db.prepare('SELECT id, snapshot FROM captures WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as Array<{
        id: number;
        snapshot: Buffer;
      }>
    ).map((r) => ({ id: r.id, snapshot: decodeSnapshot(r.snapshot) }));
  }

  /** The newest captures of [from, to] (at most `limit`), oldest first, and how many the range holds. */
  capturesInRange(from: number, to: number, limit: number): { total: number; rows: CaptureRow[] } {
    const total = (this.db.prepare('SELECT COUNT(*) AS n FROM captures WHERE t_ms BETWEEN ? AND ?').get(from, to) as { n: number }).n;
    const rows = this.db
      .prepare(
        `SELECT id, t_ms AS t, source, load1, r, d, context_from_ms AS contextFromMs
         FROM captures WHERE t_ms BETWEEN ? AND ? ORDER BY t_ms DESC LIMIT ?`,
      )
      .all(from, to, limit) as CaptureRow[];
    return { total, rows: rows.reverse() };
  }

  /**
   * The session a time falls in: the last one started at or before it. A
   * time before every session (a period asked for before the recording
   * began) gets the first, the closest one; no time at all (a store with no
   * sample or capture yet: null) the newest, the one recording now. The one
   * lookup of the report, the API and /metrics.
   */
  sessionAt(t: number | null): Session | null {
    const all = this.sessions();
    if (t === null) return all.at(-1) ?? null;
    return [...all].reverse().find((s) => s.startedMs <= t) ?? all[0] ?? null;
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  integrityOk(): boolean {
    return (this.db.pragma('quick_check', { simple: true }) as string) === 'ok';
  }

  /**
   * True when this reader reads a private copy (the store could not be read
   * in place) and the store has changed since: a long-lived reader (serve)
   * should close and reopen it. Always false for a store read in place.
   */
  stale(): boolean {
    return this.conn.stale();
  }

  close(): void {
    try {
      this.db.close();
    } finally {
      this.conn.dispose();
    }
  }
}

/** samples.d_causes: a {cause: count} JSON object as the writer stores it; anything else (absent, damaged) is null. */
function dCauses(column: unknown): Record<string, number> | null {
  const v = typeof column === 'string' ? parseJson<unknown>(column) : null;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v)) if (typeof n === 'number' && Number.isFinite(n) && n >= 0) out[k] = n;
  return out;
}

/** A JSON column written by this loadmon; a damaged one is skipped, not fatal to the report. */
function parseJson<T>(json: string): T | null {
  try {
    return JSON.parse(json) as T;
  } catch {
    return null;
  }
}
