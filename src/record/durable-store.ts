/**
 * The recorder's view of the store: it never lets a storage failure stop the
 * watching. When the store cannot be opened or written (disk full, a
 * read-only file system, a directory that is not one), it says so once on
 * stderr, keeps the newest samples and captures in memory (bounded) and
 * retries every RETRY_MS; when the store is writable again it writes what it
 * kept, oldest first, and says so. What is already stored is never touched
 * by a failure: every write is its own transaction.
 *
 * The one fatal case is another live `record` holding the store.
 */

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { describeStoreFailure, LoadmonError } from '../errors.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { TimelineSample } from '../model/timeline.ts';
import { acquireStoreLock, type StoreLock } from '../store/lock.ts';
import type { RetentionPolicy } from '../store/retention.ts';
import { type SessionInfo, StoreWriter } from '../store/writer.ts';

export const RETRY_MS = 5000;
export const RETENTION_EVERY_MS = 60_000;
/** Kept in memory while the store is unwritable: an hour of 1 s samples, the newest captures. */
const MAX_PENDING_SAMPLES = 3600;
const MAX_PENDING_CAPTURES = 32;

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

  constructor(private readonly opts: DurableStoreOptions) {}

  /** First open. Throws only E_STORE_LOCKED; any other failure leaves it retrying. */
  start(nowMs: number): void {
    this.tryOpen(nowMs);
  }

  get writable(): boolean {
    return this.writer !== null;
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
        this.fail(err, nowMs);
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
    if (!this.writer && !this.tryOpen(nowMs)) return ids;
    const w = this.writer!;
    try {
      while (this.pendingSamples.length > 0) {
        w.insertSample(this.pendingSamples[0]!);
        this.pendingSamples.shift();
      }
      while (this.pendingCaptures.length > 0) {
        ids.push(w.insertCapture(this.pendingCaptures[0]!));
        this.pendingCaptures.shift();
      }
    } catch (err) {
      this.fail(err, nowMs);
    }
    return ids;
  }

  private tryOpen(nowMs: number): boolean {
    if (this.writer) return true;
    if (nowMs < this.nextRetry) return false;
    try {
      mkdirSync(dirname(this.opts.path), { recursive: true });
      this.lock ??= acquireStoreLock(this.opts.path, this.opts.procRoot);
      const w = StoreWriter.open(this.opts.path, nowMs);
      try {
        if (this.sessionId === null) this.sessionId = w.beginSession(this.opts.session);
        else w.useSession(this.sessionId);
      } catch (err) {
        w.close();
        throw err;
      }
      this.writer = w;
    } catch (err) {
      if (err instanceof LoadmonError && err.code === 'E_STORE_LOCKED') throw err;
      if (err instanceof LoadmonError && err.code === 'E_STORE_VERSION') throw err;
      this.fail(err, nowMs);
      return false;
    }
    if (this.failing !== null) {
      const lost = this.droppedSamples + this.droppedCaptures > 0
        ? `; ${this.droppedSamples} sample(s) and ${this.droppedCaptures} capture(s) were dropped while it was not`
        : '';
      this.opts.log(
        `store ${this.opts.path} is writable again; writing ${this.pendingSamples.length} sample(s) and ${this.pendingCaptures.length} capture(s) kept in memory${lost}`,
      );
      this.failing = null;
      this.droppedSamples = 0;
      this.droppedCaptures = 0;
    }
    return true;
  }

  private fail(err: unknown, nowMs: number): void {
    const why = describeStoreFailure(err);
    if (this.failing !== why) {
      this.opts.log(
        `store ${this.opts.path}: ${why}; still watching, keeping new data in memory and retrying every ${RETRY_MS / 1000}s`,
      );
      this.failing = why;
    }
    if (this.writer) {
      try {
        this.writer.close();
      } catch {
        /* the connection is unusable anyway */
      }
      this.writer = null;
    }
    this.nextRetry = nowMs + RETRY_MS;
  }
}
