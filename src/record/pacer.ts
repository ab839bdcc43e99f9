/**
 * Who takes the recorder's 1 s timeline rows, and when Node wakes for them.
 *
 * While load1 is below the level (half the threshold) a row is four small
 * reads, and a Node wake-up costs ~100x what the reads do; so the native
 * waiter (native/waiter.c, `rows`) takes them at the recorder's phase and
 * hands them over ROW_BATCH at a time: Node wakes once per 10 s. A row at or
 * above the level comes at once; the recorder then samples every period
 * itself (scans, budget, evidence) and tells the waiter `norows`, until a
 * sample of its own is below the level again. Without the waiter (missing,
 * LOADMON_WAITER=off, dead, silent) Node samples every period, as before.
 * docs/trigger.md ("Rows") and docs/store.md say what a batch risks.
 */

import { LoadmonError } from '../errors.ts';
import { formatDuration } from '../model/time.ts';
import type { RowSource } from '../trigger/waiter.ts';
import type { WaiterRow } from '../trigger/waiter-protocol.ts';
import { untilPhase } from './phase.ts';

/** Rows per batch below the level: Node wakes once per ROW_BATCH periods. */
export const ROW_BATCH = 10;
/** How long the stop path waits for the waiter's pending rows. */
export const ROWS_FLUSH_MS = 1_000;
/** A batch this late (past its ROW_BATCH periods) means the waiter is stuck: Node samples instead. */
const SILENCE_GRACE_MS = 5_000;

export interface PacerOptions {
  periodMs: number;
  phaseMs: number;
  /** load1 below it: rows from the waiter; at or above it: the recorder samples itself. */
  level: number;
  /** The waiter's rows; null: Node samples every period. */
  rows: RowSource | null;
  /** Where the waiter spools the rows it holds (spool.ts); none: a SIGKILL loses them. */
  spool?: string | undefined;
  /** A sample taken by the recorder at `nowMs`; resolves with its load1, or null when recording must stop. */
  sample: (nowMs: number) => Promise<number | null>;
  /** Rows the waiter took, in order (one batch). */
  rowsArrived: (rows: WaiterRow[]) => Promise<void>;
  /** The recorder takes over (the load rose): baselines for the first sample's windows. */
  onRise: (nowMs: number) => void;
  /** Said once when the waiter stops delivering rows while still running. */
  status: (line: string) => void;
}

export class Pacer {
  private mode: 'self' | 'rows' = 'self';
  /** The waiter can take rows: there is one, and it has not failed or gone silent. */
  private usable: boolean;
  private timer: NodeJS.Timeout | undefined;
  private silence: NodeJS.Timeout | undefined;
  private stopped = false;
  private closed = false;
  private incoming: WaiterRow[] = [];
  private delivering: Promise<void> = Promise.resolve();
  /** Wall-clock time of the last row the waiter took: a self sample of the same period is not taken. */
  private lastRowMs = Number.NEGATIVE_INFINITY;
  /** False once the waiter could not open the spool: not asked again. */
  private spoolOk = true;

  constructor(private readonly opts: PacerOptions) {
    this.usable = opts.rows !== null;
    opts.rows?.onRow((row) => this.onRow(row));
    // The watcher says the waiter's failure (once); here Node only takes the rows back.
    opts.rows?.onExit(() => this.lost(null));
  }

  /** Who takes the rows now (tests and the status line). */
  get source(): 'self' | 'rows' {
    return this.mode;
  }

  /**
   * Starts with a sample of its own now, as before the waiter took rows (a
   * recorder started during an incident scans at once); below the level the
   * waiter takes the next rows.
   */
  async start(): Promise<void> {
    await this.selfTick();
  }

  /**
   * Stops, with nothing lost: in rows mode the waiter's pending rows are
   * asked for (`flush`, at most ROWS_FLUSH_MS) and handed to rowsArrived
   * before this resolves. Rows after it are dropped (the store closes).
   */
  async finish(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.silence);
    if (this.mode === 'rows' && this.usable) {
      // A late or failed flush loses the pending rows (at most one batch), never the stop.
      await this.opts.rows?.flushRows(ROWS_FLUSH_MS).catch(() => {});
    }
    this.deliver();
    await this.delivering;
    this.closed = true;
  }

  private async rowsOn(): Promise<boolean> {
    const w = this.opts.rows!;
    try {
      await w.ready;
      await this.startRows(w);
    } catch {
      // Failed or dead (the watcher said so), or refused: Node samples from now on.
      this.usable = false;
      return false;
    }
    if (!this.usable) return false;
    this.mode = 'rows';
    this.armSilence();
    return true;
  }

  /**
   * `rows`, with the spool when there is one. A spool the waiter cannot open
   * (a read-only directory, a link planted there) costs the spool, not the
   * rows: said once, and the rows go on without it.
   */
  private async startRows(w: RowSource): Promise<void> {
    const req = { periodMs: this.opts.periodMs, phaseMs: this.opts.phaseMs, batch: ROW_BATCH, flushAbove: this.opts.level };
    const spool = this.spoolOk ? this.opts.spool : undefined;
    if (spool === undefined) return w.startRows(req);
    try {
      await w.startRows({ ...req, spool });
    } catch (err) {
      if (!(err instanceof LoadmonError) || !/spool/.test(String(err.fields.reason))) throw err;
      this.spoolOk = false;
      const batch = formatDuration(ROW_BATCH * this.opts.periodMs);
      this.opts.status(`timeline rows: ${err.fields.reason}; without a spool, a SIGKILL loses the rows of the last ${batch}`);
      await w.startRows(req);
    }
  }

  private onRow(row: WaiterRow): void {
    // The rows of one batch arrive in one read: handed over together once it is parsed.
    if (this.incoming.push(row) === 1) queueMicrotask(() => this.deliver());
  }

  private deliver(): void {
    if (this.incoming.length === 0 || this.closed) return;
    const rows = this.incoming.splice(0);
    this.lastRowMs = rows[rows.length - 1]!.timeMs;
    this.delivering = this.delivering.then(() => this.opts.rowsArrived(rows));
    if (this.mode !== 'rows') return;
    this.armSilence();
    if (rows.some((r) => r.load1 >= this.opts.level)) this.rise();
  }

  /** The load reached the level: the recorder samples itself from the next period. */
  private rise(): void {
    this.mode = 'self';
    clearTimeout(this.silence);
    // Its answer brings any row taken meanwhile; a failure is the exit handler's business.
    this.opts.rows?.stopRows().catch(() => {});
    this.opts.onRise(Date.now());
    this.schedule();
  }

  /** The waiter is gone or silent: Node samples every period from now on. */
  private lost(note: string | null): void {
    if (!this.usable) return;
    this.usable = false;
    if (note !== null) this.opts.status(note);
    if (this.mode !== 'rows') return;
    this.mode = 'self';
    clearTimeout(this.silence);
    if (!this.stopped) this.schedule();
  }

  /** (Re)starts the wait for the next batch; once per batch, so a new timer costs nothing worth sparing. */
  private armSilence(): void {
    clearTimeout(this.silence);
    const ms = ROW_BATCH * this.opts.periodMs + SILENCE_GRACE_MS;
    this.silence = setTimeout(() => {
      this.opts.rows?.stopRows().catch(() => {});
      this.lost(`native waiter: no timeline rows for ${Math.round(ms / 1000)} s; sampling from Node instead`);
    }, ms);
    // The recorder's store and watch loop keep the process alive, not this.
    this.silence.unref();
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.selfTick(), untilPhase(Date.now(), this.opts.periodMs, this.opts.phaseMs));
  }

  private async selfTick(): Promise<void> {
    const now = Date.now();
    // The waiter's last row (flushed by `norows`) may already hold this period.
    if (now - this.lastRowMs >= this.opts.periodMs / 2) {
      const load1 = await this.opts.sample(now);
      if (load1 === null || this.stopped) return;
      if (this.usable && load1 < this.opts.level && (await this.rowsOn())) return;
    }
    this.schedule();
  }
}
