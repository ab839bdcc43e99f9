/**
 * The store's schema and its migrations. PRAGMA user_version holds the
 * version; migration N takes a store from version N-1 to N inside one
 * transaction, so a crash mid-migration leaves the previous version intact.
 * A new file (or an empty one) starts at version 0 and runs them all.
 * The tables are documented in docs/store.md.
 */

import type Database from 'better-sqlite3';

import { storeVersion } from '../errors.ts';

export const STORE_ID = 'loadmon.store';

type Migration = (db: Database.Database) => void;

const MIGRATIONS: readonly Migration[] = [
  // 1: timeline, per-process counts, captures, sessions.
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_ms INTEGER NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        cpus INTEGER NOT NULL,
        source TEXT NOT NULL,
        threshold REAL NOT NULL,
        threshold_spec TEXT NOT NULL,
        scan_above REAL NOT NULL,
        sample_ms INTEGER NOT NULL
      );
      -- One row per --sample tick. Loads and PSI averages are stored x100 as
      -- integers (the kernel prints two decimals): half the bytes of REAL.
      CREATE TABLE samples (
        t_ms INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL,
        load1_c INTEGER NOT NULL,
        load5_c INTEGER NOT NULL,
        load15_c INTEGER NOT NULL,
        runnable INTEGER,
        threads INTEGER,
        scanned INTEGER NOT NULL,
        r INTEGER,
        d INTEGER,
        cpu_some_c INTEGER, cpu_some_us INTEGER, cpu_full_c INTEGER, cpu_full_us INTEGER,
        io_some_c INTEGER, io_some_us INTEGER, io_full_c INTEGER, io_full_us INTEGER,
        mem_some_c INTEGER, mem_some_us INTEGER, mem_full_c INTEGER, mem_full_us INTEGER
      );
      -- A process as seen by the light scan; last_ms lets retention drop the unreferenced.
      CREATE TABLE procs (
        id INTEGER PRIMARY KEY,
        pid INTEGER NOT NULL,
        comm TEXT NOT NULL,
        cgroup TEXT,
        last_ms INTEGER NOT NULL,
        UNIQUE (pid, comm, cgroup)
      );
      CREATE TABLE sample_procs (
        t_ms INTEGER NOT NULL,
        proc_id INTEGER NOT NULL,
        r INTEGER NOT NULL,
        d INTEGER NOT NULL,
        PRIMARY KEY (t_ms, proc_id)
      ) WITHOUT ROWID;
      -- AUTOINCREMENT: a capture id is never reused after retention deleted it.
      CREATE TABLE captures (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        t_ms INTEGER NOT NULL,
        session_id INTEGER NOT NULL,
        source TEXT NOT NULL,
        load1 REAL NOT NULL,
        r INTEGER NOT NULL,
        d INTEGER NOT NULL,
        context_from_ms INTEGER NOT NULL,
        snapshot BLOB NOT NULL
      );
      CREATE INDEX captures_t ON captures (t_ms);
    `);
  },
  // 2: time blocked in D per process and kernel stack (--source bpf's sched_switch tracking).
  (db) => {
    db.exec(`
      -- When the off-CPU tracking covered the time since the previous sample:
      -- that time in ms (its sample_offcpu rows are then complete; none means
      -- nothing blocked). NULL otherwise.
      ALTER TABLE samples ADD COLUMN offcpu INTEGER;
      -- A kernel stack as /proc/PID/stack prints it, frames joined by newlines,
      -- innermost first; stored once, touched (last_ms) like procs.
      CREATE TABLE stacks (
        id INTEGER PRIMARY KEY,
        frames TEXT NOT NULL UNIQUE,
        last_ms INTEGER NOT NULL
      );
      -- Time one process's threads spent off CPU in D within one sample's
      -- period, per stack they blocked in (microseconds), and how many such
      -- intervals ended in it.
      CREATE TABLE sample_offcpu (
        t_ms INTEGER NOT NULL,
        proc_id INTEGER NOT NULL,
        stack_id INTEGER NOT NULL,
        us INTEGER NOT NULL,
        ended INTEGER NOT NULL,
        PRIMARY KEY (t_ms, proc_id, stack_id)
      ) WITHOUT ROWID;
    `);
  },
  // 3: evidence beyond stacks (devices, memory stalls, cgroup limits) and wait-for chains.
  (db) => {
    db.exec(`
      -- JSON (loadmon's Evidence, src/model/evidence.ts) over the sample's period;
      -- only on samples whose light scan ran (the load was high), NULL otherwise.
      ALTER TABLE samples ADD COLUMN evidence TEXT;
      -- JSON array of wait-for chain links (--source bpf) of the sample's period, NULL without.
      ALTER TABLE samples ADD COLUMN chains TEXT;
    `);
  },
  // 4: D threads per cause on scanned samples (/metrics' loadmon_uninterruptible_threads_by_cause).
  (db) => {
    db.exec(`
      -- JSON object {cause: D threads} of the light scan (procfs: each D thread's
      -- wchan through the cause table); only causes seen. NULL when not scanned
      -- or when the source measures blocked time instead (--source bpf).
      ALTER TABLE samples ADD COLUMN d_causes TEXT;
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the store to SCHEMA_VERSION; refuses a store written by a newer loadmon. */
export function migrate(db: Database.Database, path: string, nowMs: number): void {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > SCHEMA_VERSION) throw storeVersion(path, from, SCHEMA_VERSION);
  if (from === SCHEMA_VERSION) return;
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      if (v === 0) {
        const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        put.run('store', STORE_ID);
        put.run('created', new Date(nowMs).toISOString());
      }
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
