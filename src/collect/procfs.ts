/**
 * The procfs collector: walks /proc/PID/task/TID/stat for every thread and,
 * for the ones in state R or D only, reads stack, wchan and cgroup.
 *
 * Capture-path rules (the system is sick when this runs):
 * - never read cmdline, environ, maps or smaps: they take the target's
 *   mmap_lock and hang behind a task stuck while holding it;
 * - a thread that vanishes between readdir and read (ENOENT, ESRCH) is
 *   skipped silently; EACCES/EPERM on stacks becomes one note, not an error;
 * - the state letter is decided from the raw bytes (after the last ')'), so
 *   the thousands of S threads cost one read and no string decoding.
 */

import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';

import { isDenied, isVanished, procUnreadable } from '../errors.ts';
import { SNAPSHOT_SCHEMA, type Snapshot, type TaskSample, type TaskState } from '../model/snapshot.ts';
import { parseCgroup } from '../procfs/cgroup.ts';
import { countCpus } from '../procfs/cpus.ts';
import { parseLoadavg } from '../procfs/loadavg.ts';
import { ProcReader } from '../procfs/reader.ts';
import { parseStack } from '../procfs/stack.ts';
import { parseTaskStat } from '../procfs/stat.ts';
import { parseWchan } from '../procfs/wchan.ts';
import type { CaptureOptions, Collector } from './collector.ts';

const CLOSE_PAREN = 0x29;
const STATE_R = 0x52;
const STATE_D = 0x44;

export const NOTE_NO_STACKS = 'kernel stacks need root (CAP_SYS_ADMIN); states are shown without them';

export interface ProcfsCollectorOptions {
  procRoot?: string;
  /** Leave this process's own threads out (default true): loadmon is always R while it scans. */
  excludeSelf?: boolean;
}

export class ProcfsCollector implements Collector {
  readonly source = 'procfs' as const;
  private readonly root: string;
  private readonly excludeSelf: boolean;
  private readonly reader = new ProcReader();

  constructor(opts: ProcfsCollectorOptions = {}) {
    this.root = (opts.procRoot ?? '/proc').replace(/\/+$/, '') || '/';
    this.excludeSelf = opts.excludeSelf ?? true;
  }

  capture(opts: CaptureOptions): Snapshot {
    const started = performance.now();
    const time = new Date();
    const loadavg = parseLoadavg(this.readRequired(`${this.root}/loadavg`));
    const cpus = countCpus(this.readRequired(`${this.root}/stat`));
    const scan = new Scan(this.reader, opts.depth, this.excludeSelf ? process.pid : -1);
    for (const pid of this.listNumeric(this.root, true)) scan.process(`${this.root}/${pid}`);
    return {
      schema: SNAPSHOT_SCHEMA,
      time: time.toISOString(),
      host: hostname(),
      source: 'procfs',
      cpus,
      loadavg,
      trigger: opts.trigger ?? null,
      capture: { ms: round2(performance.now() - started), threads_scanned: scan.threadsScanned },
      tasks: scan.tasks,
      notes: scan.notes(),
    };
  }

  private readRequired(path: string): string {
    try {
      return this.reader.readText(path);
    } catch (err) {
      throw procUnreadable(path, err);
    }
  }

  private listNumeric(dir: string, required: boolean): string[] {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if (required) throw procUnreadable(dir, err);
      return [];
    }
    return names.filter(isNumeric);
  }
}

/** The state of one pass over /proc: what was found and what went wrong. */
class Scan {
  readonly tasks: TaskSample[] = [];
  threadsScanned = 0;
  private stacksDenied = 0;
  private stacksRead = 0;
  private deniedExample = '';
  private runningWithoutStack = 0;

  constructor(
    private readonly reader: ProcReader,
    private readonly depth: number,
    private readonly selfPid: number,
  ) {}

  process(pidDir: string): void {
    let tids: string[];
    try {
      tids = readdirSync(`${pidDir}/task`);
    } catch (err) {
      if (isVanished(err) || isDenied(err)) return;
      throw err;
    }
    const pid = Number(pidDir.slice(pidDir.lastIndexOf('/') + 1));
    if (pid === this.selfPid) return;
    for (const tid of tids) {
      if (isNumeric(tid)) this.thread(pid, `${pidDir}/task/${tid}`);
    }
  }

  private thread(pid: number, taskDir: string): void {
    let n: number;
    try {
      n = this.reader.readInto(`${taskDir}/stat`);
    } catch (err) {
      if (isVanished(err) || isDenied(err)) return;
      throw err;
    }
    this.threadsScanned++;
    const buf = this.reader.buffer;
    const close = buf.lastIndexOf(CLOSE_PAREN, n - 1);
    if (close < 0 || close + 2 >= n) return;
    const st = buf[close + 2];
    if (st !== STATE_R && st !== STATE_D) return;
    const stat = parseTaskStat(buf.toString('utf8', 0, n));
    const state = stat.state as TaskState;
    const stack = this.readStack(taskDir);
    if (state === 'R' && stack?.length === 0) this.runningWithoutStack++;
    this.tasks.push({
      pid,
      tid: stat.pid,
      comm: stat.comm,
      state,
      stack: stack ?? [],
      wchan: this.readOptional(`${taskDir}/wchan`, parseWchan),
      cgroup: this.readOptional(`${taskDir}/cgroup`, parseCgroup),
    });
  }

  /** The frames, or null when they could not be read (no permission, depth 0). */
  private readStack(taskDir: string): string[] | null {
    if (this.depth === 0) return null;
    try {
      const frames = parseStack(this.reader.readText(`${taskDir}/stack`), this.depth);
      this.stacksRead++;
      return frames;
    } catch (err) {
      if (isDenied(err)) {
        this.stacksDenied++;
        this.deniedExample ||= taskDir;
      } else if (!isVanished(err)) {
        throw err;
      }
      return null;
    }
  }

  private readOptional<T>(path: string, parse: (text: string) => T | null): T | null {
    try {
      return parse(this.reader.readText(path));
    } catch (err) {
      if (isVanished(err) || isDenied(err)) return null;
      throw err;
    }
  }

  notes(): string[] {
    const notes: string[] = [];
    if (this.stacksDenied > 0 && this.stacksRead === 0) {
      notes.push(NOTE_NO_STACKS);
    } else if (this.stacksDenied > 0) {
      notes.push(
        `kernel stacks of ${this.stacksDenied} task(s) could not be read (permission denied, e.g. ${this.deniedExample})`,
      );
    }
    if (this.runningWithoutStack > 0) {
      notes.push(
        `${this.runningWithoutStack} R task(s) have no kernel stack: the kernel does not unwind a task while it runs on another CPU`,
      );
    }
    return notes;
  }
}

function isNumeric(name: string): boolean {
  const c = name.charCodeAt(0);
  return c >= 48 && c <= 57;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
