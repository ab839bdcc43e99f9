import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Collector } from '../../src/collect/collector.ts';
import { SNAPSHOT_SCHEMA, type Snapshot } from '../../src/model/snapshot.ts';
import { CaptureGate } from '../../src/trigger/gate.ts';
import type { LoadProbe } from '../../src/trigger/load-probe.ts';
import { ThresholdWatcher } from '../../src/trigger/procfs-watcher.ts';
import { runWatch, type Watcher } from '../../src/trigger/watch.ts';

test('gate: fires at the threshold (>=), not below', () => {
  const g = new CaptureGate(3, 20_000);
  assert.equal(g.check(2.99, 0), false);
  assert.equal(g.check(3, 10), true);
});

test('gate: cooldown measured from the last capture, with a fake clock', () => {
  const g = new CaptureGate(3, 20_000);
  assert.equal(g.check(5, 1000), true);
  assert.equal(g.check(5, 1010), false);
  assert.equal(g.check(5, 20_999), false);
  assert.equal(g.cooldownLeft(20_999), 1);
  assert.equal(g.check(5, 21_000), true);
  // Below threshold during the cooldown does not reset it.
  assert.equal(g.check(1, 30_000), false);
  assert.equal(g.check(5, 40_999), false);
  assert.equal(g.check(5, 41_000), true);
});

test('gate: zero cooldown captures at every check above threshold', () => {
  const g = new CaptureGate(1, 0);
  assert.equal(g.check(2, 0), true);
  assert.equal(g.check(2, 0), true);
});

function fakeSnapshot(load1: number): Snapshot {
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

test('threshold watcher: captures with trigger details, respects cooldown', async () => {
  const loads = [1, 4, 4, 4, 2, 4];
  let i = 0;
  const probe = { load1: () => loads[i++]!, close: () => {} } as unknown as LoadProbe;
  const captured: Snapshot[] = [];
  const collector: Collector = {
    source: 'procfs',
    capture: (o) => {
      const s = fakeSnapshot(4);
      s.trigger = o.trigger ?? null;
      captured.push(s);
      return Promise.resolve(s);
    },
    close: () => {},
  };
  const w = new ThresholdWatcher(collector, probe, { threshold: 3, thresholdText: '3', cooldownMs: 100, depth: 20 });
  const times = [0, 10, 50, 110, 300, 400];
  const out = await Promise.all(times.map((t) => w.poll(t)));
  assert.deepEqual(
    out.map((s) => s !== null),
    [false, true, false, true, false, true],
  );
  assert.equal(captured[0]!.trigger!.load1, 4);
  assert.equal(captured[0]!.trigger!.capture_index, 1);
  assert.equal(captured[2]!.trigger!.capture_index, 3);
  assert.equal(captured[1]!.trigger!.threshold, 3);
});

test('watch loop: first check at start, stops after count, closes the watcher', async () => {
  let polls = 0;
  let closed = false;
  const w: Watcher = {
    poll: () => (++polls % 2 === 1 ? fakeSnapshot(polls) : null),
    close: () => {
      closed = true;
    },
  };
  const got: number[] = [];
  const n = await runWatch(w, { intervalMs: 1, count: 3, signal: new AbortController().signal }, (s) => got.push(s.loadavg.load1));
  assert.equal(n, 3);
  assert.deepEqual(got, [1, 3, 5]);
  assert.equal(closed, true);
});

test('watch loop: abort stops it cleanly; a poll error rejects', async () => {
  const ac = new AbortController();
  const w: Watcher = { poll: () => null, close: () => {} };
  setTimeout(() => ac.abort(), 20);
  assert.equal(await runWatch(w, { intervalMs: 2, signal: ac.signal }, () => {}), 0);
  const bad: Watcher = {
    poll: () => {
      throw new Error('boom');
    },
    close: () => {},
  };
  await assert.rejects(runWatch(bad, { intervalMs: 2, signal: new AbortController().signal }, () => {}), /boom/);
});
