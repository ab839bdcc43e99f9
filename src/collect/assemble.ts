/**
 * Turns the stat pass (candidates) and the detail reads into a Snapshot,
 * with notes that say what limited it. Shared by the procfs collector and
 * the watchdog thread that finishes a capture whose reads hung.
 */

import { performance } from 'node:perf_hooks';

import type { Snapshot, TaskSample } from '../model/snapshot.ts';
import type { Candidate, CaptureContext, DetailBatch } from './details.ts';
import { ownThreadsField } from './self.ts';

export const NOTE_NO_STACKS = 'kernel stacks need root (CAP_SYS_ADMIN); states are shown without them';

export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export function assembleSnapshot(ctx: CaptureContext, candidates: Candidate[], batch: DetailBatch): Snapshot {
  return {
    ...ctx.base,
    capture: {
      ms: Math.round((epochMs() - ctx.startedAt) * 100) / 100,
      threads_scanned: ctx.threadsScanned,
      ...ownThreadsField(ctx.ownThreads ?? 0),
    },
    tasks: toTasks(candidates, batch),
    notes: [...notesFor(candidates, batch), ...scanNotes(ctx, candidates, batch)],
  };
}

/**
 * ONE note for every file that was not what the kernel writes (threads the
 * stat pass skipped, and tasks kept without their stack, wchan or cgroup),
 * (loadmon's own threads left out are counted in capture.own_threads).
 */
function scanNotes(ctx: CaptureContext, candidates: Candidate[], batch: DetailBatch): string[] {
  const notes: string[] = [];
  const skipped = ctx.skipped ?? { threads: 0, example: null };
  let partial = 0;
  let example = skipped.example;
  for (const c of candidates) {
    const problem = batch.details.get(c.dir)?.problem;
    if (problem === undefined) continue;
    partial++;
    example ??= problem;
  }
  if (skipped.threads > 0 || partial > 0) {
    const parts: string[] = [];
    if (skipped.threads > 0) parts.push(`${skipped.threads} thread(s) skipped`);
    if (partial > 0) parts.push(`the stack, wchan or cgroup of ${partial} task(s) left out`);
    notes.push(
      `${parts.join('; ')}: their proc files are not what the kernel writes (not a regular file, over the size cap, or ` +
        `unparsable), e.g. ${example}`,
    );
  }
  return notes;
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
