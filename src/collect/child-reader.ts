/**
 * Runs task-detail reads in a child process with a deadline (see details.ts
 * for why). The child is started when the reader is created, so its boot
 * overlaps the parent's stat scan; `watch` keeps one child for its lifetime.
 * A child that misses a deadline is killed and replaced on the next request.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { loadmonEnv } from '../env.ts';
import type { DetailMessage, DetailRequest } from './detail-child.ts';
import type { Candidate, DetailBatch, DetailReader, TaskDetails } from './details.ts';
import { registerOwnProcess } from './self.ts';

/** How long one capture may wait for its details before giving up on them. */
export const DEFAULT_DETAIL_TIMEOUT_MS = 3000;

const CHILD = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './detail-child.ts' : './detail-child.js', import.meta.url));

export class ChildDetailReader implements DetailReader {
  private child: ChildProcess | null = null;
  private nextId = 1;

  constructor(
    private readonly timeoutMs = detailTimeoutMs(DEFAULT_DETAIL_TIMEOUT_MS),
    /** A tree that is not a procfs mount: the child type-checks every file (reader.ts). */
    private readonly opts: { untrusted?: boolean } = {},
  ) {
    this.spawn();
  }

  read(candidates: Candidate[], depth: number): Promise<DetailBatch> {
    const taskDirs = candidates.map((c) => c.dir);
    const details = new Map<string, TaskDetails>();
    if (taskDirs.length === 0) return Promise.resolve({ details, stuckOn: null });
    const child = this.child ?? this.spawn();
    const id = this.nextId++;
    return new Promise<DetailBatch>((resolve, reject) => {
      const finish = (stuckOn: string | null, err?: Error): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve({ details, stuckOn });
      };
      const onMessage = (m: DetailMessage): void => {
        if (m.id !== id) return;
        if (m.kind === 'task') details.set(m.dir, m.details);
        else if (m.kind === 'done') finish(null);
        else finish(null, new Error(m.message));
      };
      const onExit = (): void => {
        this.child = null;
        finish(taskDirs[details.size] ?? null);
      };
      const timer = setTimeout(() => {
        this.abandon(child);
        finish(taskDirs[details.size] ?? null);
      }, this.timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      const req: DetailRequest = { id, dirs: taskDirs, depth, untrusted: this.opts.untrusted ?? false };
      child.send(req);
    });
  }

  close(): void {
    if (this.child) this.abandon(this.child);
  }

  private spawn(): ChildProcess {
    const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    // loadmon's own: left out of captures until it has exited (also when abandoned stuck in D).
    child.once('exit', registerOwnProcess(child.pid));
    // A child stuck in an uninterruptible read must not keep us alive.
    child.unref();
    child.channel?.unref();
    this.child = child;
    return child;
  }

  /** Kill (killable waits end at once) and forget a child; never wait for it. */
  private abandon(child: ChildProcess): void {
    if (this.child === child) this.child = null;
    child.removeAllListeners('message');
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    try {
      child.disconnect();
    } catch {
      /* channel already closed */
    }
  }
}

/** LOADMON_DETAIL_TIMEOUT_MS overrides the deadline (tests use a short one); src/env.ts validates it. */
export function detailTimeoutMs(fallback: number): number {
  return loadmonEnv().detailTimeoutMs ?? fallback;
}
