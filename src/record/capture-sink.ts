/**
 * The captures `loadmon top --db` keeps (`s`, or the threshold) written to a
 * store, as `record` writes its own. The store is opened at the first one, so
 * a top that keeps nothing never holds it; from then until top exits it holds
 * the recorder's lock (one writer per store: a `record` already running on it
 * refuses the capture, which is then only printed at exit, and says why).
 * Every capture is written in its own transaction when it is kept, so a top
 * that is killed loses none that were stored.
 */

import type { Snapshot } from '../model/snapshot.ts';
import type { RetentionPolicy } from '../store/retention.ts';
import type { SessionInfo } from '../store/writer.ts';
import { DurableStore } from './durable-store.ts';

export interface CaptureSinkOptions {
  path: string;
  session: SessionInfo;
  policy: RetentionPolicy;
  procRoot?: string;
}

export class CaptureSink {
  private store: DurableStore | null = null;
  private lastLog: string | null = null;

  constructor(private readonly opts: CaptureSinkOptions) {}

  /**
   * Writes one capture: its id in the store, or why it is not there (a
   * refused store is tried again at the next capture: the recorder holding
   * it may have stopped).
   */
  keep(snap: Snapshot, nowMs = Date.now()): { id: number } | { error: string } {
    try {
      if (!this.store) {
        const store = new DurableStore({ ...this.opts, log: (line) => (this.lastLog = line) });
        store.start(nowMs);
        this.store = store;
      }
      const id = this.store.addCapture(snap, nowMs);
      if (id === null) return { error: `${this.lastLog ?? 'the store is not writable'} (tried again at the next capture)` };
      return { id };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  close(): void {
    this.store?.close();
    this.store = null;
  }
}
