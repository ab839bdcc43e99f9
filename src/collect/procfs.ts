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
 * - every read is bounded and non-blocking (reader.ts, limits.ts); a file
 *   that is not what the kernel writes (--proc-root names any directory)
 *   costs its task a note (assemble.ts), never the capture;
 * - loadmon's own processes are left out and counted (self.ts);
 * - the state letter is decided from the raw bytes (after the last ')'), so
 *   the thousands of S threads cost one read and no string decoding.
 */

import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';

import { isDenied, isVanished, procUnreadable } from '../errors.ts';
import { SNAPSHOT_SCHEMA, type Snapshot, type TaskState } from '../model/snapshot.ts';
import { countCpus } from '../procfs/cpus.ts';
import { FILE_CAP } from '../procfs/limits.ts';
import { parseLoadavg } from '../procfs/loadavg.ts';
import { describeTaskFileProblem, isProcMount, isTaskFileProblem, ProcReader, readRequired } from '../procfs/reader.ts';
import { parseTaskStat, StatParseError } from '../procfs/stat.ts';
import { assembleSnapshot, epochMs } from './assemble.ts';
import { ChildDetailReader } from './child-reader.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { type Candidate, type CaptureContext, type DetailReader, InlineDetailReader, type ScanProblems } from './details.ts';
import { ownPids } from './self.ts';
import { WatchdogDetailReader } from './watchdog-reader.ts';

const CLOSE_PAREN = 0x29;
const STATE_R = 0x52;
const STATE_D = 0x44;

export { NOTE_NO_STACKS } from './assemble.ts';

export interface ProcfsCollectorOptions {
  procRoot?: string;
  /** Leave loadmon's own processes out (default true; self.ts): loadmon is always R while it scans. */
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
  private readonly reader: ProcReader;
  private readonly details: DetailReader;

  constructor(opts: ProcfsCollectorOptions = {}) {
    this.root = (opts.procRoot ?? '/proc').replace(/\/+$/, '') || '/';
    this.excludeSelf = opts.excludeSelf ?? true;
    const untrusted = !isProcMount(this.root);
    this.reader = new ProcReader(4096, { untrusted });
    const d = opts.details ?? 'child';
    if (d === 'child') this.details = new ChildDetailReader(undefined, { untrusted });
    else if (d === 'inline') this.details = new InlineDetailReader(new ProcReader(4096, { untrusted }));
    else if (d === 'watchdog')
      this.details = new WatchdogDetailReader(opts.emergency ?? { format: 'json', stream: false }, undefined, untrusted);
    else this.details = d;
  }

  async capture(opts: CaptureOptions): Promise<Snapshot> {
    const startedAt = epochMs();
    const time = new Date(startedAt);
    const loadavg = parseLoadavg(readRequired(`${this.root}/loadavg`, FILE_CAP.loadavg, this.reader));
    const cpus = countCpus(readRequired(`${this.root}/stat`, FILE_CAP.table, this.reader));
    const { candidates, threadsScanned, skipped, ownThreads } = this.scanStates(true);
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
      skipped,
      ownThreads,
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
   * Cheap enough for periodic sampling (the recorder's timeline). Threads of
   * loadmon's own processes (self.ts) are left out; `countOwn` (captures)
   * counts their R and D threads, which only their stat tells, so without
   * it (light scans, where no one reads the count) they are not read at
   * all. A thread whose task directory or stat is unusable (not what the
   * kernel writes) is skipped and counted, never failing the pass.
   */
  scanStates(countOwn = false): ScanResult {
    const out: ScanResult = {
      candidates: [],
      threadsScanned: 0,
      skipped: { threads: 0, example: null },
      ownThreads: 0,
    };
    const own = this.excludeSelf ? ownPids() : new Set<number>();
    for (const name of this.listPids()) {
      const pid = Number(name);
      const mine = own.has(pid);
      if (mine && !countOwn) continue;
      const pidDir = `${this.root}/${name}`;
      const tids = this.listTids(pidDir, out.skipped);
      for (const tid of tids) {
        const c = this.statOne(pid, `${pidDir}/task/${tid}`, out.skipped);
        if (c === undefined) continue;
        if (mine) {
          if (c) out.ownThreads++;
          continue;
        }
        out.threadsScanned++;
        if (c) out.candidates.push(c);
      }
    }
    return out;
  }

  /** A process's thread ids; none when it vanished, is denied or its task directory is unusable. */
  private listTids(pidDir: string, skipped: ScanProblems): string[] {
    const path = `${pidDir}/task`;
    try {
      return readdirSync(path).filter(isNumeric);
    } catch (err) {
      if (isVanished(err) || isDenied(err)) return [];
      if (!isTaskFileProblem(err)) throw err;
      noteSkipped(skipped, describeTaskFileProblem(path, err));
      return [];
    }
  }

  /** undefined: vanished or unusable (counted in `skipped`); null: not R/D; else the candidate. */
  private statOne(pid: number, dir: string, skipped: ScanProblems): Candidate | null | undefined {
    const path = `${dir}/stat`;
    let n: number;
    try {
      n = this.reader.readInto(path, FILE_CAP.stat);
    } catch (err) {
      if (isVanished(err) || isDenied(err)) return undefined;
      if (!isTaskFileProblem(err)) throw err;
      noteSkipped(skipped, describeTaskFileProblem(path, err));
      return undefined;
    }
    const buf = this.reader.buffer;
    const close = buf.lastIndexOf(CLOSE_PAREN, n - 1);
    if (close < 0 || close + 2 >= n) return null;
    const st = buf[close + 2];
    if (st !== STATE_R && st !== STATE_D) return null;
    try {
      const stat = parseTaskStat(buf.toString('utf8', 0, n));
      return { pid, tid: stat.pid, comm: stat.comm, state: stat.state as TaskState, dir };
    } catch (err) {
      if (!(err instanceof StatParseError)) throw err;
      noteSkipped(skipped, `${path}: ${err.message}`);
      return undefined;
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

export interface ScanResult {
  candidates: Candidate[];
  /** Threads whose state was read, loadmon's own left out. */
  threadsScanned: number;
  skipped: ScanProblems;
  /** R/D threads of loadmon's own processes, left out (self.ts); 0 unless counted (scanStates' countOwn). */
  ownThreads: number;
}

function noteSkipped(skipped: ScanProblems, example: string): void {
  skipped.threads++;
  skipped.example ??= example;
}

/** A PID or TID directory name: digits only (a crafted tree may hold "1\x1b[2J"). */
function isNumeric(name: string): boolean {
  const c = name.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  for (let i = 1; i < name.length; i++) {
    const d = name.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return true;
}
