/**
 * Retention, oldest first: by age (--retain) and by size (--max-size).
 *
 * Samples are kept for as long as a capture they precede by CONTEXT_MS is
 * kept, so a capture always keeps its pre-trigger context. Size is the bytes
 * of live pages (page_count - freelist_count), not the file size: SQLite
 * reuses freed pages, and incremental_vacuum hands them back to the file
 * system afterwards.
 */

import type Database from 'better-sqlite3';

export interface RetentionPolicy {
  retainMs: number;
  maxBytes: number;
}

export interface RetentionResult {
  samplesDeleted: number;
  capturesDeleted: number;
  procsDeleted: number;
  /** Live bytes after enforcement. */
  bytes: number;
}

/** A process row is kept while samples may reference it (see PROC_TOUCH_MS in writer.ts). */
const PROC_SLACK_MS = 120_000;
const CONTEXT_MS = 60_000;

export function liveBytes(db: Database.Database): number {
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const size = db.pragma('page_size', { simple: true }) as number;
  return (pages - free) * size;
}

export function enforceRetention(db: Database.Database, policy: RetentionPolicy, nowMs: number): RetentionResult {
  const res: RetentionResult = { samplesDeleted: 0, capturesDeleted: 0, procsDeleted: 0, bytes: 0 };
  deleteBefore(db, nowMs - policy.retainMs, res);
  // Over the size budget: drop the oldest 5% of the stored time span at a time.
  for (let round = 0; round < 40 && liveBytes(db) > policy.maxBytes; round++) {
    const span = db
      .prepare(
        `SELECT MIN(t) AS lo, MAX(t) AS hi FROM (
           SELECT MIN(t_ms) AS t FROM samples UNION ALL SELECT MAX(t_ms) FROM samples
           UNION ALL SELECT MIN(t_ms) FROM captures UNION ALL SELECT MAX(t_ms) FROM captures)`,
      )
      .get() as { lo: number | null; hi: number | null };
    if (span.lo === null || span.hi === null) break;
    const cut = span.lo + Math.max(1000, Math.ceil((span.hi - span.lo) * 0.05));
    const before = res.samplesDeleted + res.capturesDeleted;
    deleteBefore(db, cut, res, true);
    if (res.samplesDeleted + res.capturesDeleted === before) break;
  }
  if (res.samplesDeleted + res.capturesDeleted > 0) db.pragma('incremental_vacuum');
  res.bytes = liveBytes(db);
  return res;
}

/**
 * Deletes captures before `cut`, and samples before `cut` that no kept capture
 * needs as context. `force` (size pressure) also drops the context samples.
 */
function deleteBefore(db: Database.Database, cut: number, res: RetentionResult, force = false): void {
  db.transaction(() => {
    res.capturesDeleted += db.prepare('DELETE FROM captures WHERE t_ms < ?').run(cut).changes;
    const oldest = db.prepare('SELECT MIN(context_from_ms) AS c FROM captures').get() as { c: number | null };
    const sampleCut = force || oldest.c === null ? cut : Math.min(cut, oldest.c);
    res.samplesDeleted += db.prepare('DELETE FROM samples WHERE t_ms < ?').run(sampleCut).changes;
    db.prepare('DELETE FROM sample_procs WHERE t_ms < ?').run(sampleCut);
    db.prepare('DELETE FROM sample_offcpu WHERE t_ms < ?').run(sampleCut);
    db.prepare('DELETE FROM stacks WHERE last_ms < ?').run(sampleCut - PROC_SLACK_MS);
    res.procsDeleted += db.prepare('DELETE FROM procs WHERE last_ms < ?').run(sampleCut - PROC_SLACK_MS).changes;
    // Sessions only grow, so every session older than the oldest one still referenced can go.
    const a = db.prepare('SELECT session_id AS s FROM samples ORDER BY t_ms LIMIT 1').get() as { s: number } | undefined;
    const b = db.prepare('SELECT session_id AS s FROM captures ORDER BY t_ms LIMIT 1').get() as { s: number } | undefined;
    const keepFrom = Math.min(a?.s ?? Number.MAX_SAFE_INTEGER, b?.s ?? Number.MAX_SAFE_INTEGER);
    if (keepFrom !== Number.MAX_SAFE_INTEGER) db.prepare('DELETE FROM sessions WHERE id < ?').run(keepFrom);
  })();
}

export { CONTEXT_MS as RETENTION_CONTEXT_MS };
