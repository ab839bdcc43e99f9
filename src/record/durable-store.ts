/**
 * The recorder's view of the store: it never lets a storage failure stop the
 * watching. When the store cannot be opened or written (disk full, a
 * read-only file system, a directory that is not one), it says so once on
 * stderr, keeps the newest samples and captures in memory (bounded) and
 * retries every RETRY_MS; when the store is writable again it writes what it
 * kept, oldest first, and says so. What is already stored is never touched
 * by a failure: every write is its own transaction.
 *
 * A damaged store (SQLITE_CORRUPT, SQLITE_NOTADB with a SQLite header) is
 * moved aside to `<db>.corrupt-<time>` with its -wal and -shm, with a note,
 * and a new store is started: the recorder keeps running, and the old data
 * is still there for whoever wants it.
 *
 * Fatal: another live `record` holding the store, a store from a newer
 * loadmon, a file that is not a SQLite database (someone else's file), and
 * damage again after MAX_MOVED_ASIDE new stores.
 */

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { describeStoreFailure, type ErrorCode, LoadmonError, storeCorrupt } from '../errors.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { TimelineSample } from '../model/timeline.ts';
import { hasSqliteHeader, isCorruption, moveAside } from '../store/damage.ts';
import { acquireStoreLock, type StoreLock } from '../store/lock.ts';
import type { RetentionPolicy } from '../store/retention.ts';
import { type SessionInfo, StoreWriter } from '../store/writer.ts';

export const RETRY_MS = 5000;
export const RETENTION_EVERY_MS = 60_000;
/** Kept in memory while the store is unwritable: an hour of 1 s samples, the newest captures. */
const MAX_PENDING_SAMPLES = 3600;
const MAX_PENDING_CAPTURES = 32;
/** Damaged stores moved aside in one run before giving up: more means the disk itself is failing. */
const MAX_MOVED_ASIDE = 3;
/** Failures that stop the recorder instead of being retried. */
const FATAL: ReadonlySet<ErrorCode> = new Set(['E_STORE_LOCKED', 'E_STORE_VERSION', 'E_STORE_CORRUPT']);

export interface DurableStoreOptions {
  path: string;
  policy: RetentionPolicy;
  session: SessionInfo;
  /** One line for people (stderr). */
  log: (line: string) => void;
  procRoot?: string;
}

export class DurableStore {
  private writer: StoreWriter | null = null;
  private lock: StoreLock | null = null;
  private sessionId: number | null = null;
  private failing: string | null = null;
  private nextRetry = 0;
  private lastRetention = Number.NEGATIVE_INFINITY;
  private pendingSamples: TimelineSample[] = [];
  private pendingCaptures: Snapshot[] = [];
  private droppedSamples = 0;
  private droppedCaptures = 0;
  private movedAside = 0;

  constructor(private readonly opts: DurableStoreOptions) {}

  /** First open. Throws what is fatal (see failed); any other failure leaves it retrying. */
  start(nowMs: number): void {
    try {
      this.tryOpen(nowMs);
    } catch (err) {
      this.close(); // the lock too: nothing will record here
      throw err;
    }
  }

  get writable(): boolean {
    return this.writer !== null;
  }

  /** The newest stored sample's time (any session); null when there is none or the store is not open. */
  newestSampleMs(): number | null {
    try {
      return this.writer?.newestSampleMs() ?? null;
    } catch {
      // A failing store says so at the next write; here the answer is only "none known".
      return null;
    }
  }

  addSample(s: TimelineSample, nowMs: number): void {
    this.pendingSamples.push(s);
    if (this.pendingSamples.length > MAX_PENDING_SAMPLES) {
      this.pendingSamples.shift();
      this.droppedSamples++;
    }
    this.flush(nowMs);
  }

  /** Returns the capture's id once committed, or null while the store is unwritable (kept in memory). */
  addCapture(s: Snapshot, nowMs: number): number | null {
    this.pendingCaptures.push(s);
    if (this.pendingCaptures.length > MAX_PENDING_CAPTURES) {
      this.pendingCaptures.shift();
      this.droppedCaptures++;
    }
    const ids = this.flush(nowMs);
    return ids.length > 0 ? ids[ids.length - 1]! : null;
  }

  /** Periodic work: retry a failed store, enforce retention. */
  tick(nowMs: number): void {
    if (!this.writer) this.flush(nowMs);
    if (this.writer && nowMs - this.lastRetention >= RETENTION_EVERY_MS) {
      this.lastRetention = nowMs;
      try {
        this.writer.enforceRetention(this.opts.policy, nowMs);
      } catch (err) {
        this.failed(err, nowMs);
      }
    }
  }

  close(): void {
    this.writer?.close();
    this.writer = null;
    this.lock?.release();
    this.lock = null;
  }

  /** Writes what is pending, oldest first; returns the ids of captures committed now. */
  private flush(nowMs: number): number[] {
    const ids: number[] = [];
    if (!this.tryOpen(nowMs)) return ids;
    const w = this.writer!;
    let samples = 0;
    try {
      while (this.pendingSamples.length > 0) {
        w.insertSample(this.pendingSamples[0]!);
        this.pendingSamples.shift();
        samples++;
      }
      while (this.pendingCaptures.length > 0) {
        ids.push(w.insertCapture(this.pendingCaptures[0]!));
        this.pendingCaptures.shift();
      }
    } catch (err) {
      // Damage moved aside: write what is pending into the new store now.
      return this.failed(err, nowMs) ? [...ids, ...this.flush(nowMs)] : ids;
    }
    if (samples + ids.length > 0) this.confirmWritable(samples, ids.length);
    return ids;
  }

  private tryOpen(nowMs: number): boolean {
    if (this.writer) return true;
    if (nowMs < this.nextRetry) return false;
    try {
      this.open(nowMs);
    } catch (err) {
      return this.failed(err, nowMs) && this.tryOpen(nowMs);
    }
    return true;
  }

  private open(nowMs: number): void {
    mkdirSync(dirname(this.opts.path), { recursive: true });
    this.lock ??= acquireStoreLock(this.opts.path, this.opts.procRoot);
    const w = StoreWriter.open(this.opts.path, nowMs);
    try {
      if (this.sessionId === null) {
        this.sessionId = w.beginSession(this.opts.session);
        this.confirmWritable(0, 0);
      } else {
        w.useSession(this.sessionId);
      }
    } catch (err) {
      w.close();
      throw err;
    }
    this.writer = w;
  }

  /**
   * Said only once something was written: an open that succeeds proves
   * nothing (a full disk still opens, and fails at the first write).
   */
  private confirmWritable(samples: number, captures: number): void {
    if (this.failing === null) return;
    const lost =
      this.droppedSamples + this.droppedCaptures > 0
        ? `; ${this.droppedSamples} sample(s) and ${this.droppedCaptures} capture(s) were dropped while it was not`
        : '';
    this.opts.log(`store ${this.opts.path} is writable again; wrote ${samples} sample(s) and ${captures} capture(s) kept in memory${lost}`);
    this.failing = null;
    this.droppedSamples = 0;
    this.droppedCaptures = 0;
  }

  /**
   * A failed open or write. Returns true when the store was damaged and has
   * been moved aside (the caller opens a new one now); throws what is fatal
   * (another recorder, a newer schema, a file that is not a database);
   * anything else is retried every RETRY_MS.
   */
  private failed(err: unknown, nowMs: number): boolean {
    if (err instanceof LoadmonError && FATAL.has(err.code)) throw err;
    if (isCorruption(err)) {
      this.moveDamaged(err, nowMs);
      return true;
    }
    this.fail(err, nowMs);
    return false;
  }

  /** Moves a damaged SQLite file aside (docs/store.md); never touches a file that is not one. */
  private moveDamaged(err: unknown, nowMs: number): void {
    const path = this.opts.path;
    this.closeWriter();
    if (!hasSqliteHeader(path)) throw storeCorrupt(path, err, 'is not a SQLite database: left untouched, give --db another path');
    if (this.movedAside >= MAX_MOVED_ASIDE) {
      throw storeCorrupt(path, err, `is damaged again after ${this.movedAside} new store(s) (a failing disk?)`);
    }
    let to: string;
    try {
      to = moveAside(path, nowMs);
    } catch (moveErr) {
      throw storeCorrupt(path, err, `is damaged and cannot be moved aside (${(moveErr as Error).message})`);
    }
    this.movedAside++;
    this.sessionId = null;
    this.nextRetry = 0;
    this.opts.log(`store ${path} is damaged (${(err as Error).message}); moved it aside to ${to} and started a new store`);
  }

  private closeWriter(): void {
    if (!this.writer) return;
    try {
      this.writer.close();
    } catch {
      /* the connection is unusable anyway */
    }
    this.writer = null;
  }

  private fail(err: unknown, nowMs: number): void {
    const why = describeStoreFailure(err);
    if (this.failing !== why) {
      this.opts.log(`store ${this.opts.path}: ${why}; still watching, keeping new data in memory and retrying every ${RETRY_MS / 1000}s`);
      this.failing = why;
    }
    this.closeWriter();
    this.nextRetry = nowMs + RETRY_MS;
  }
}
