import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatText } from '../../src/format/text.ts';
import { blockedMs, perCpu } from '../../src/format/units.ts';
import { SNAPSHOT_SCHEMA, type Snapshot } from '../../src/model/snapshot.ts';

test('perCpu: 2 decimals, ? when the CPU count is unknown', () => {
  assert.equal(perCpu(3.1, 2), '1.55');
  assert.equal(perCpu(5, 3), '1.67');
  assert.equal(perCpu(0, 4), '0.00');
  assert.equal(perCpu(3.1, 0), '?');
});

test('blockedMs: one decimal below a second and from it; a short blockage is not 0ms', () => {
  assert.equal(blockedMs(0.4), '0.4ms', 'rounding to whole ms would say it was not blocked');
  assert.equal(blockedMs(0), '0.0ms');
  assert.equal(blockedMs(12.34), '12.3ms');
  assert.equal(blockedMs(999.94), '999.9ms');
  assert.equal(blockedMs(999.96), '1.0s', 'what rounds to a second is written in seconds');
  assert.equal(blockedMs(1000), '1.0s');
  assert.equal(blockedMs(2345), '2.3s');
  assert.equal(blockedMs(61_000), '61.0s');
});

test('text: the load per CPU and the measured blocked time are written with the shared units', () => {
  const snap: Snapshot = {
    schema: SNAPSHOT_SCHEMA,
    time: '2026-11-27T10:00:00.123Z',
    host: 'db1',
    source: 'bpf',
    cpus: 2,
    loadavg: { load1: 3.1, load5: 1.2, load15: 0.4, runnable: 3, threads: 100 },
    trigger: null,
    capture: { ms: 4.1, threads_scanned: 100 },
    tasks: [],
    notes: [],
    blocked_recent: {
      window_ms: 60_000,
      mean_d: 0.05,
      stacks: [
        { pid: 7, comm: 'fsync', cgroup: null, stack: ['submit_bio_wait+0x5b/0xa0'], blocked_ms: 2345, ended: 12 },
        { pid: 8, comm: 'tiny', cgroup: null, stack: ['submit_bio_wait+0x5b/0xa0'], blocked_ms: 0.4, ended: 1 },
      ],
    },
  };
  const t = formatText(snap);
  assert.match(t, /load1\/cpu: 1\.55/);
  assert.match(t, /\n {6}2\.3s {5}12 ended {2}pid 7 fsync/);
  assert.match(t, /\n {5}0\.4ms {6}1 ended {2}pid 8 tiny/);
  assert.match(formatText({ ...snap, cpus: 0 }), /load1\/cpu: \?/);
});
