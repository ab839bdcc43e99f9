/**
 * In-process detail reads guarded by a watchdog thread, for one-shot
 * captures (`snapshot`): no second process to start (a Node child costs
 * ~0.4 s of wall time here under load; a worker thread almost nothing).
 *
 * The main thread tells the watchdog what it is about to read and reports
 * each task as it is done. If one read blocks past the deadline, the main
 * thread can never be interrupted, so the watchdog finishes the job itself:
 * it assembles the capture from what it was told, writes it to stdout with a
 * note naming the task that hung, and ends the process with SIGKILL (the only
 * way out while a thread sits in an uninterruptible read; exit status 137).
 */

import { Worker } from 'node:worker_threads';

import { ProcReader } from '../procfs/reader.ts';
import { DEFAULT_DETAIL_TIMEOUT_MS, detailTimeoutMs } from './child-reader.ts';
import { type Candidate, type CaptureContext, type DetailBatch, type DetailReader, readTaskDetails, type TaskDetails } from './details.ts';

export interface EmergencyOutput {
  format: 'text' | 'seed' | 'json';
  stream: boolean;
}

export type WatchdogMessage =
  | { kind: 'arm'; ctx: CaptureContext; candidates: Candidate[]; timeoutMs: number; out: EmergencyOutput }
  | { kind: 'task'; dir: string; details: TaskDetails }
  | { kind: 'disarm' };

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './watchdog-worker.ts' : './watchdog-worker.js', import.meta.url);

/**
 * The module-loader flags of this process (--import tsx when running from
 * source), which the worker needs to load its own module. Other flags are
 * left out: Worker rejects V8 and process flags such as
 * --max-semi-space-size in execArgv.
 */
export function loaderFlags(argv: readonly string[]): string[] {
  const keep: string[] = [];
  const LOADER = /^(--(import|require|loader|experimental-loader)|-r)(=|$)/;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!LOADER.test(a)) continue;
    keep.push(a);
    if (!a.includes('=') && i + 1 < argv.length) keep.push(argv[++i]!);
  }
  return keep;
}

export class WatchdogDetailReader implements DetailReader {
  private readonly reader: ProcReader;
  private readonly worker: Worker;

  constructor(
    private readonly out: EmergencyOutput,
    private readonly timeoutMs = detailTimeoutMs(DEFAULT_DETAIL_TIMEOUT_MS),
    /** A tree that is not a procfs mount: type-check every file (reader.ts). */
    untrusted = false,
  ) {
    this.reader = new ProcReader(4096, { untrusted });
    // Started now so that its boot overlaps the stat pass.
    this.worker = new Worker(WORKER, { execArgv: loaderFlags(process.execArgv) });
    this.worker.unref();
  }

  read(candidates: Candidate[], depth: number, ctx: CaptureContext): Promise<DetailBatch> {
    const details = new Map<string, TaskDetails>();
    if (candidates.length === 0) return Promise.resolve({ details, stuckOn: null });
    this.post({ kind: 'arm', ctx, candidates, timeoutMs: this.timeoutMs, out: this.out });
    for (const c of candidates) {
      const d = readTaskDetails(this.reader, c.dir, depth);
      details.set(c.dir, d);
      this.post({ kind: 'task', dir: c.dir, details: d });
    }
    this.post({ kind: 'disarm' });
    return Promise.resolve({ details, stuckOn: null });
  }

  close(): void {
    void this.worker.terminate();
  }

  private post(m: WatchdogMessage): void {
    this.worker.postMessage(m);
  }
}
