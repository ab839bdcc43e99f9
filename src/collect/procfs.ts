/**
 * The procfs collector: walks /proc/PID/task/TID/stat for every thread and,
 * for the ones in state R or D only, reads stack, wchan and cgroup.
 *
 * Capture-path rules (the system is sick when this runs):
 * - never read cmdline, environ, maps or smaps: they take the target's
 *   mmap_lock and hang behind a task stuck while holding it;
 * - stat never blocks on the target (ps reads it too); the reads that can
 *   (stack) go through a DetailReader with a deadline (details.ts);
 * - a thread that vanishes between readdir and read (ENOENT, ESRCH) is
 *   skipped silently; EACCES/EPERM on stacks becomes one note, not an error;
 * - the state letter is decided from the raw bytes (after the last ')'), so
 *   the thousands of S threads cost one read and no string decoding.
 */

import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';

import { isDenied, isVanished, procUnreadable } from '../errors.ts';
import { SNAPSHOT_SCHEMA, type Snapshot, type TaskState } from '../model/snapshot.ts';
import { countCpus } from '../procfs/cpus.ts';
import { parseLoadavg } from '../procfs/loadavg.ts';
import { ProcReader } from '../procfs/reader.ts';
import { parseTaskStat } from '../procfs/stat.ts';
import { ChildDetailReader } from './child-reader.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { assembleSnapshot, epochMs } from './assemble.ts';
import { type Candidate, type CaptureContext, type DetailReader, InlineDetailReader } from './details.ts';
import { WatchdogDetailReader } from './watchdog-reader.ts';

const CLOSE_PAREN = 0x29;
const STATE_R = 0x52;
const STATE_D = 0x44;

export { NOTE_NO_STACKS } from './assemble.ts';

export interface ProcfsCollectorOptions {
  procRoot?: string;
  /** Leave this process's own threads out (default true): loadmon is always R while it scans. */
  excludeSelf?: boolean;
  /**
   * How stacks, wchan and cgroup are read (details.ts): 'child' (default) in
   * a child process with a deadline, for long-running commands; 'watchdog'
   * in-process with a watchdog thread that prints the capture and ends the
   * process if a read hangs, for one-shot commands (no second process to
   * start); 'inline' in-process, unguarded, for fixtures and benchmarks.
   */
  details?: 'child' | 'watchdog' | 'inline' | DetailReader;
  /** With 'watchdog': how the emergency output is rendered. */
  emergency?: { format: 'text' | 'seed' | 'json'; stream: boolean };
}


export class ProcfsCollector implements Collector {
  readonly source = 'procfs' as const;
  private readonly root: string;
  private readonly excludeSelf: boolean;
  private readonly reader = new ProcReader();
  private readonly details: DetailReader;

  constructor(opts: ProcfsCollectorOptions = {}) {
    this.root = (opts.procRoot ?? '/proc').replace(/\/+$/, '') || '/';
    this.excludeSelf = opts.excludeSelf ?? true;
    const d = opts.details ?? 'child';
    if (d === 'child') this.details = new ChildDetailReader();
    else if (d === 'inline') this.details = new InlineDetailReader();
    else if (d === 'watchdog') this.details = new WatchdogDetailReader(opts.emergency ?? { format: 'json', stream: false });
    else this.details = d;
  }

  async capture(opts: CaptureOptions): Promise<Snapshot> {
    const startedAt = epochMs();
    const time = new Date(startedAt);
    const loadavg = parseLoadavg(this.readRequired(`${this.root}/loadavg`));
    const cpus = countCpus(this.readRequired(`${this.root}/stat`));
    const { candidates, threadsScanned } = this.scanStates();
    const ctx: CaptureContext = {
      base: {
        schema: SNAPSHOT_SCHEMA,
        time: time.toISOString(),
        host: hostname(),
        source: 'procfs',
        cpus,
        loadavg,
        trigger: opts.trigger ?? null,
      },
      threadsScanned,
      startedAt,
    };
    const batch = await this.details.read(candidates, opts.depth, ctx);
    return assembleSnapshot(ctx, candidates, batch);
  }

  close(): void {
    this.details.close();
  }

  /**
   * The stat pass alone: every thread's state from one read each, no stacks.
   * Cheap enough for periodic sampling (the recorder's timeline).
   */
  scanStates(): { candidates: Candidate[]; threadsScanned: number } {
    const candidates: Candidate[] = [];
    let threadsScanned = 0;
    const self = this.excludeSelf ? process.pid : -1;
    for (const name of this.listPids()) {
      const pid = Number(name);
      if (pid === self) continue;
      const pidDir = `${this.root}/${name}`;
      let tids: string[];
      try {
        tids = readdirSync(`${pidDir}/task`);
      } catch (err) {
        if (isVanished(err) || isDenied(err)) continue;
        throw err;
      }
      for (const tid of tids) {
        if (!isNumeric(tid)) continue;
        const dir = `${pidDir}/task/${tid}`;
        const c = this.statOne(pid, dir);
        if (c === undefined) continue;
        threadsScanned++;
        if (c) candidates.push(c);
      }
    }
    return { candidates, threadsScanned };
  }

  /** undefined: vanished; null: not R/D; else the candidate. */
  private statOne(pid: number, dir: string): Candidate | null | undefined {
    let n: number;
    try {
      n = this.reader.readInto(`${dir}/stat`);
    } catch (err) {
      if (isVanished(err) || isDenied(err)) return undefined;
      throw err;
    }
    const buf = this.reader.buffer;
    const close = buf.lastIndexOf(CLOSE_PAREN, n - 1);
    if (close < 0 || close + 2 >= n) return null;
    const st = buf[close + 2];
    if (st !== STATE_R && st !== STATE_D) return null;
    const stat = parseTaskStat(buf.toString('utf8', 0, n));
    return { pid, tid: stat.pid, comm: stat.comm, state: stat.state as TaskState, dir };
  }

  private readRequired(path: string): string {
    try {
      return this.reader.readText(path);
    } catch (err) {
      throw procUnreadable(path, err);
    }
  }

  private listPids(): string[] {
    try {
      return readdirSync(this.root).filter(isNumeric);
    } catch (err) {
      throw procUnreadable(this.root, err);
    }
  }
}

function isNumeric(name: string): boolean {
  const c = name.charCodeAt(0);
  return c >= 48 && c <= 57;
}

