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
import { performance } from 'node:perf_hooks';

import { isDenied, isVanished, procUnreadable } from '../errors.ts';
import { SNAPSHOT_SCHEMA, type Snapshot, type TaskSample, type TaskState } from '../model/snapshot.ts';
import { countCpus } from '../procfs/cpus.ts';
import { parseLoadavg } from '../procfs/loadavg.ts';
import { ProcReader } from '../procfs/reader.ts';
import { parseTaskStat } from '../procfs/stat.ts';
import { ChildDetailReader } from './child-reader.ts';
import type { CaptureOptions, Collector } from './collector.ts';
import { type DetailBatch, type DetailReader, InlineDetailReader } from './details.ts';

const CLOSE_PAREN = 0x29;
const STATE_R = 0x52;
const STATE_D = 0x44;

export const NOTE_NO_STACKS = 'kernel stacks need root (CAP_SYS_ADMIN); states are shown without them';

export interface ProcfsCollectorOptions {
  procRoot?: string;
  /** Leave this process's own threads out (default true): loadmon is always R while it scans. */
  excludeSelf?: boolean;
  /** 'child' (default): stack reads in a child process with a deadline; 'inline': in-process. */
  details?: 'child' | 'inline' | DetailReader;
}

/** A thread found in R or D by the stat pass, before its details are read. */
export interface Candidate {
  pid: number;
  tid: number;
  comm: string;
  state: TaskState;
  dir: string;
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
    this.details = d === 'child' ? new ChildDetailReader() : d === 'inline' ? new InlineDetailReader() : d;
  }

  async capture(opts: CaptureOptions): Promise<Snapshot> {
    const started = performance.now();
    const time = new Date();
    const loadavg = parseLoadavg(this.readRequired(`${this.root}/loadavg`));
    const cpus = countCpus(this.readRequired(`${this.root}/stat`));
    const { candidates, threadsScanned } = this.scanStates();
    const batch = await this.details.read(
      candidates.map((c) => c.dir),
      opts.depth,
    );
    return {
      schema: SNAPSHOT_SCHEMA,
      time: time.toISOString(),
      host: hostname(),
      source: 'procfs',
      cpus,
      loadavg,
      trigger: opts.trigger ?? null,
      capture: { ms: round2(performance.now() - started), threads_scanned: threadsScanned },
      tasks: toTasks(candidates, batch),
      notes: notesFor(candidates, batch),
    };
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

function toTasks(candidates: Candidate[], batch: DetailBatch): TaskSample[] {
  return candidates.map((c) => {
    const d = batch.details.get(c.dir);
    return {
      pid: c.pid,
      tid: c.tid,
      comm: c.comm,
      state: c.state,
      stack: d?.stack ?? [],
      wchan: d?.wchan ?? null,
      cgroup: d?.cgroup ?? null,
    };
  });
}

function notesFor(candidates: Candidate[], batch: DetailBatch): string[] {
  const notes: string[] = [];
  let denied = 0;
  let read = 0;
  let runningEmpty = 0;
  let deniedExample = '';
  for (const c of candidates) {
    const d = batch.details.get(c.dir);
    if (!d) continue;
    if (d.stackStatus === 'denied') {
      denied++;
      deniedExample ||= c.dir;
    } else if (d.stackStatus === 'ok') {
      read++;
      if (c.state === 'R' && d.stack.length === 0) runningEmpty++;
    }
  }
  if (denied > 0 && read === 0) notes.push(NOTE_NO_STACKS);
  else if (denied > 0) notes.push(`kernel stacks of ${denied} task(s) could not be read (permission denied, e.g. ${deniedExample})`);
  if (runningEmpty > 0) {
    notes.push(`${runningEmpty} R task(s) have no kernel stack: the kernel does not unwind a task while it runs on another CPU`);
  }
  if (batch.stuckOn !== null) {
    const missing = candidates.length - batch.details.size;
    notes.push(
      `reading ${batch.stuckOn}/stack (or its wchan/cgroup) blocked for too long; ` +
        `stacks, wchan and cgroup of ${missing} task(s) are missing (a task may hold its exec lock)`,
    );
  }
  return notes;
}

function isNumeric(name: string): boolean {
  const c = name.charCodeAt(0);
  return c >= 48 && c <= 57;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
