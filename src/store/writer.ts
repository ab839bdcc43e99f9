/**
 * Writes the timeline and the captures. Every call is one transaction, so a
 * kill -9 loses at most the row being written. Errors are thrown raw: the
 * recorder decides what a full disk means (keep watching, retry).
 */

import type Database from 'better-sqlite3';

import type { Snapshot } from '../model/snapshot.ts';
import type { TimelineSample } from '../model/timeline.ts';
import { encodeSnapshot } from './codec.ts';
import { openForWrite } from './open.ts';
import { enforceRetention, type RetentionPolicy, type RetentionResult } from './retention.ts';

/** Seconds of light samples before a capture that report shows with it (its pre-trigger context). */
export const CONTEXT_MS = 60_000;

export interface SessionInfo {
  startedMs: number;
  host: string;
  pid: number;
  cpus: number;
  source: string;
  threshold: number;
  thresholdSpec: string;
  scanAbove: number;
  sampleMs: number;
}

/**
 * What the sampler adds to a timeline sample for the store alone: D threads
 * per cause of the light scan (procfs: classified from each D thread's wchan).
 */
export interface SampleCauses {
  dCauses?: Readonly<Record<string, number>>;
}

/**
 * samples.scanned: the light scan ran (1), or why not: load1 below the scan
 * level (0), or due but skipped by --cpu-budget (2). Only 1 has per-process rows.
 */
export const NOT_SCANNED = 0;
export const SCANNED = 1;
export const THINNED = 2;

/** A sample whose due light scan --cpu-budget skipped (its scan is null, as below the scan level). */
export interface SampleBudget {
  thinned?: boolean;
}

/** How often a known process's last_ms is refreshed (retention keeps procs seen within this much slack). */
const PROC_TOUCH_MS = 60_000;

export class StoreWriter {
  private readonly insSample: Database.Statement;
  private readonly insProcCount: Database.Statement;
  private readonly findProc: Database.Statement;
  private readonly insProc: Database.Statement;
  private readonly touchProc: Database.Statement;
  private readonly insCapture: Database.Statement;
  private readonly insOffcpu: Database.Statement;
  private readonly findStack: Database.Statement;
  private readonly insStack: Database.Statement;
  private readonly touchStack: Database.Statement;
  private readonly procIds = new Map<string, { id: number; touched: number }>();
  private readonly stackIds = new Map<string, { id: number; touched: number }>();
  private sessionId = 0;

  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.insSample = db.prepare(`INSERT OR REPLACE INTO samples VALUES (
      @t, @session, @l1, @l5, @l15, @runnable, @threads, @scanned, @r, @d,
      @cpu_some_c, @cpu_some_us, @cpu_full_c, @cpu_full_us,
      @io_some_c, @io_some_us, @io_full_c, @io_full_us,
      @mem_some_c, @mem_some_us, @mem_full_c, @mem_full_us, @offcpu, @evidence, @chains, @d_causes)`);
    this.insOffcpu = db.prepare('INSERT OR REPLACE INTO sample_offcpu (t_ms, proc_id, stack_id, us, ended) VALUES (?, ?, ?, ?, ?)');
    this.findStack = db.prepare('SELECT id FROM stacks WHERE frames = ?');
    this.insStack = db.prepare('INSERT INTO stacks (frames, last_ms) VALUES (?, ?)');
    this.touchStack = db.prepare('UPDATE stacks SET last_ms = ? WHERE id = ?');
    this.insProcCount = db.prepare('INSERT OR REPLACE INTO sample_procs (t_ms, proc_id, r, d) VALUES (?, ?, ?, ?)');
    this.findProc = db.prepare('SELECT id FROM procs WHERE pid = ? AND comm = ? AND cgroup IS ?');
    this.insProc = db.prepare('INSERT INTO procs (pid, comm, cgroup, last_ms) VALUES (?, ?, ?, ?)');
    this.touchProc = db.prepare('UPDATE procs SET last_ms = ? WHERE id = ?');
    this.insCapture = db.prepare(
      'INSERT INTO captures (t_ms, session_id, source, load1, r, d, context_from_ms, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  static open(path: string, nowMs = Date.now()): StoreWriter {
    return new StoreWriter(path, openForWrite(path, nowMs));
  }

  beginSession(s: SessionInfo): number {
    const r = this.db
      .prepare(
        `INSERT INTO sessions (started_ms, host, pid, cpus, source, threshold, threshold_spec, scan_above, sample_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.startedMs, s.host, s.pid, s.cpus, s.source, s.threshold, s.thresholdSpec, s.scanAbove, s.sampleMs);
    this.sessionId = Number(r.lastInsertRowid);
    return this.sessionId;
  }

  /** Continues a session begun on an earlier connection (after the store came back). */
  useSession(id: number): void {
    this.sessionId = id;
  }

  insertSample(s: TimelineSample & SampleCauses & SampleBudget): void {
    this.db.transaction(() => {
      const p = s.pressure;
      this.insSample.run({
        t: s.timeMs,
        session: this.sessionId,
        l1: centi(s.load1),
        l5: centi(s.load5),
        l15: centi(s.load15),
        runnable: s.runnable,
        threads: s.threads,
        scanned: s.scan ? SCANNED : s.thinned ? THINNED : NOT_SCANNED,
        r: s.scan?.r ?? null,
        d: s.scan?.d ?? null,
        cpu_some_c: centiOrNull(p.cpu?.some?.avg10),
        cpu_some_us: p.cpu?.some?.totalUs ?? null,
        cpu_full_c: centiOrNull(p.cpu?.full?.avg10),
        cpu_full_us: p.cpu?.full?.totalUs ?? null,
        io_some_c: centiOrNull(p.io?.some?.avg10),
        io_some_us: p.io?.some?.totalUs ?? null,
        io_full_c: centiOrNull(p.io?.full?.avg10),
        io_full_us: p.io?.full?.totalUs ?? null,
        mem_some_c: centiOrNull(p.memory?.some?.avg10),
        mem_some_us: p.memory?.some?.totalUs ?? null,
        mem_full_c: centiOrNull(p.memory?.full?.avg10),
        mem_full_us: p.memory?.full?.totalUs ?? null,
        offcpu: s.offcpu ? Math.max(1, Math.round(s.offcpu.windowMs)) : null,
        // Evidence matters only while the load is high: the scanned samples.
        evidence: s.evidence && s.scan ? JSON.stringify(s.evidence) : null,
        chains: s.chains && s.chains.length > 0 ? JSON.stringify(s.chains) : null,
        d_causes: s.dCauses && s.scan ? JSON.stringify(s.dCauses) : null,
      });
      for (const pc of s.scan?.procs ?? []) {
        this.insProcCount.run(s.timeMs, this.procId(pc.pid, pc.comm, pc.cgroup, s.timeMs), pc.r, pc.d);
      }
      // Several threads of one process in one stack are one row.
      const rows = new Map<string, [number, number, number, number]>();
      for (const e of s.offcpu?.entries ?? []) {
        const proc = this.procId(e.pid, e.comm, e.cgroup, s.timeMs);
        const stack = this.stackId(e.stack.join('\n'), s.timeMs);
        const row = rows.get(`${proc} ${stack}`);
        if (row) {
          row[2] += e.ms;
          row[3] += e.ended;
        } else {
          rows.set(`${proc} ${stack}`, [proc, stack, e.ms, e.ended]);
        }
      }
      for (const [proc, stack, ms, ended] of rows.values()) this.insOffcpu.run(s.timeMs, proc, stack, Math.round(ms * 1000), ended);
    })();
  }

  /** The time of the newest timeline sample (any session); null for an empty store. */
  newestSampleMs(): number | null {
    const row = this.db.prepare('SELECT MAX(t_ms) AS t FROM samples').get() as { t: number | null };
    return row.t;
  }

  /** Stores a capture; returns its id. The pre-trigger context is the samples of the CONTEXT_MS before it. */
  insertCapture(s: Snapshot): number {
    const t = Date.parse(s.time);
    let r = 0;
    let d = 0;
    for (const task of s.tasks) task.state === 'R' ? r++ : d++;
    const res = this.insCapture.run(t, this.sessionId, s.source, s.loadavg.load1, r, d, t - CONTEXT_MS, encodeSnapshot(s));
    return Number(res.lastInsertRowid);
  }

  enforceRetention(policy: RetentionPolicy, nowMs: number): RetentionResult {
    const res = enforceRetention(this.db, policy, nowMs);
    // Ids of deleted procs must not be reused from the cache.
    if (res.procsDeleted > 0) this.procIds.clear();
    this.stackIds.clear();
    return res;
  }

  /** Checkpoints the WAL into the main file and closes. */
  close(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* a full disk or read-only file: the WAL stays, SQLite replays it on next open */
    }
    this.db.close();
  }

  private procId(pid: number, comm: string, cgroup: string | null, nowMs: number): number {
    return touchedId(
      this.procIds,
      `${pid}\0${comm}\0${cgroup ?? ''}`,
      nowMs,
      (id) => this.touchProc.run(nowMs, id),
      () => (this.findProc.get(pid, comm, cgroup) as { id: number } | undefined)?.id,
      () => Number(this.insProc.run(pid, comm, cgroup, nowMs).lastInsertRowid),
    );
  }

  private stackId(frames: string, nowMs: number): number {
    return touchedId(
      this.stackIds,
      frames,
      nowMs,
      (id) => this.touchStack.run(nowMs, id),
      () => (this.findStack.get(frames) as { id: number } | undefined)?.id,
      () => Number(this.insStack.run(frames, nowMs).lastInsertRowid),
    );
  }
}

function touchedId(
  cache: Map<string, { id: number; touched: number }>,
  key: string,
  nowMs: number,
  touch: (id: number) => void,
  find: () => number | undefined,
  insert: () => number,
): number {
  const hit = cache.get(key);
  if (hit) {
    if (nowMs - hit.touched >= PROC_TOUCH_MS) {
      touch(hit.id);
      hit.touched = nowMs;
    }
    return hit.id;
  }
  let id = find();
  if (id !== undefined) touch(id);
  else id = insert();
  cache.set(key, { id, touched: nowMs });
  // Bound the cache on hosts with heavy process churn.
  if (cache.size > 50_000) cache.clear();
  return id;
}

function centi(x: number): number {
  return Math.round(x * 100);
}

function centiOrNull(x: number | undefined): number | null {
  return x === undefined ? null : centi(x);
}

export { PROC_TOUCH_MS };
