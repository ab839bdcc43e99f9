/**
 * Per-task details that only matter for captured (R/D) tasks: kernel stack,
 * wchan, cgroup. Reading /proc/PID/task/TID/stack takes the target's
 * exec_update_lock (cred_guard_mutex before 5.10), which a task stuck in
 * execve can hold indefinitely. A blocked read cannot be interrupted, and a
 * blocked thread stops a Node process from exiting, so by default these
 * reads run in a child process (ChildDetailReader) that is abandoned and
 * killed when it misses its deadline: the capture then completes without the
 * details it could not get, with a note naming the file that hung.
 */

import { isDenied, isVanished } from '../errors.ts';
import type { Snapshot, TaskState } from '../model/snapshot.ts';
import { parseCgroup } from '../procfs/cgroup.ts';
import { FILE_CAP } from '../procfs/limits.ts';
import { describeTaskFileProblem, isTaskFileProblem, ProcReader } from '../procfs/reader.ts';
import { parseStack } from '../procfs/stack.ts';
import { parseWchan } from '../procfs/wchan.ts';

/** 'unusable': the file is not what the kernel writes (reader.ts isTaskFileProblem). */
export type StackStatus = 'ok' | 'denied' | 'vanished' | 'skipped' | 'timeout' | 'unusable';

export interface TaskDetails {
  stack: string[];
  stackStatus: StackStatus;
  wchan: string | null;
  cgroup: string | null;
  /** The first of this task's files that was unusable, "PATH: why"; the others were still read. */
  problem?: string;
}

/** Skipped by the stat pass: threads whose task directory or stat file was unusable. */
export interface ScanProblems {
  threads: number;
  /** The first one, "PATH: why". */
  example: string | null;
}

export interface DetailBatch {
  details: Map<string, TaskDetails>;
  /** The task directory whose reads hung, if the deadline passed. */
  stuckOn: string | null;
}

/** A thread found in R or D by the stat pass, before its details are read. */
export interface Candidate {
  pid: number;
  tid: number;
  comm: string;
  state: TaskState;
  /** Its directory, "/proc/PID/task/TID". */
  dir: string;
}

/** Everything of a snapshot that is known before the details are read. */
export interface CaptureContext {
  base: Omit<Snapshot, 'tasks' | 'notes' | 'capture'>;
  threadsScanned: number;
  /** Threads the stat pass skipped because their files were unusable. */
  skipped?: ScanProblems;
  /** R/D threads of loadmon's own processes left out (self.ts). */
  ownThreads?: number;
  /** Start of the capture, ms since the epoch (performance.timeOrigin + now()). */
  startedAt: number;
}

export interface DetailReader {
  /** Details for each candidate, by directory; missing entries were not read in time. */
  read(candidates: Candidate[], depth: number, ctx: CaptureContext): Promise<DetailBatch>;
  close(): void;
}

/** Reads one task's details synchronously. Used in-process and inside the child. */
export function readTaskDetails(reader: ProcReader, dir: string, depth: number): TaskDetails {
  const problems: string[] = [];
  let stack: string[] = [];
  let stackStatus: StackStatus = 'skipped';
  if (depth > 0) {
    const path = `${dir}/stack`;
    try {
      stack = parseStack(reader.readText(path, FILE_CAP.stack), depth);
      stackStatus = 'ok';
    } catch (err) {
      stackStatus = classify(err);
      if (stackStatus === 'unusable') problems.push(describeTaskFileProblem(path, err));
    }
  }
  const wchan = optional(reader, `${dir}/wchan`, FILE_CAP.wchan, parseWchan, problems);
  const cgroup = optional(reader, `${dir}/cgroup`, FILE_CAP.cgroup, parseCgroup, problems);
  const d: TaskDetails = { stack, stackStatus, wchan, cgroup };
  if (problems[0] !== undefined) d.problem = problems[0];
  return d;
}

function classify(err: unknown): StackStatus {
  if (isDenied(err)) return 'denied';
  if (isVanished(err)) return 'vanished';
  if (isTaskFileProblem(err)) return 'unusable';
  throw err;
}

function optional<T>(reader: ProcReader, path: string, cap: number, parse: (text: string) => T | null, problems: string[]): T | null {
  try {
    return parse(reader.readText(path, cap));
  } catch (err) {
    if (isVanished(err) || isDenied(err)) return null;
    if (!isTaskFileProblem(err)) throw err;
    problems.push(describeTaskFileProblem(path, err));
    return null;
  }
}

/** Synchronous, in-process reads: for fixtures and tests, where nothing can hang. */
export class InlineDetailReader implements DetailReader {
  constructor(private readonly reader = new ProcReader()) {}

  read(candidates: Candidate[], depth: number): Promise<DetailBatch> {
    const details = new Map<string, TaskDetails>();
    for (const c of candidates) details.set(c.dir, readTaskDetails(this.reader, c.dir, depth));
    return Promise.resolve({ details, stuckOn: null });
  }

  close(): void {}
}
