/** Snapshots for tests that need one to pass around, not to look into. */

import { SNAPSHOT_SCHEMA, type Snapshot } from '../../src/model/snapshot.ts';

/** A capture with no tasks at `load1`: what a fake collector returns. */
export function emptySnapshot(load1 = 0): Snapshot {
  return {
    schema: SNAPSHOT_SCHEMA,
    time: new Date(0).toISOString(),
    host: 'h',
    source: 'procfs',
    cpus: 2,
    loadavg: { load1, load5: 0, load15: 0, runnable: 1, threads: 1 },
    trigger: null,
    capture: { ms: 0, threads_scanned: 0 },
    tasks: [],
    notes: [],
  };
}
