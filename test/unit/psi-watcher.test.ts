import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Collector } from '../../src/collect/collector.ts';
import { SNAPSHOT_SCHEMA, type Snapshot } from '../../src/model/snapshot.ts';
import { CaptureGate } from '../../src/trigger/gate.ts';
import type { LoadProbe } from '../../src/trigger/load-probe.ts';
import { ThresholdWatcher } from '../../src/trigger/procfs-watcher.ts';
import { runWatch, type Watcher } from '../../src/trigger/watch.ts';

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

/** A ThresholdWatcher over a fixed load1 and a collector that records what it was asked to capture. */
function fakeThresholdWatcher(load1: number, cooldownMs: number): { w: ThresholdWatcher; captured: Snapshot[] } {
  const probe = { read: () => ({ load1, loads: `${load1.toFixed(2)} 0.00 0.00 ` }), close: () => {} } as unknown as LoadProbe;
  const captured: Snapshot[] = [];
  const collector: Collector = {
    source: 'procfs',
    capture: (o) => {
      const s = fakeSnapshot(load1);
      s.trigger = o.trigger ?? null;
      captured.push(s);
      return Promise.resolve(s);
    },
    close: () => {},
  };
  const opts = { threshold: 3, thresholdText: '3', cooldownMs, depth: 20, intervalMs: 10, now: 0, procRoot: 'test/fixtures/proc' };
  return { w: new ThresholdWatcher(collector, probe, opts), captured };
}

test('gate: take() applies only the cooldown, shared with the load rule', () => {
  const g = new CaptureGate(3, 1000);
  assert.equal(g.take(0), true);
  assert.equal(g.check(5, 500), false, 'a load capture waits for the cooldown a PSI capture started');
  assert.equal(g.take(999), false);
  assert.equal(g.check(5, 1000), true);
  assert.equal(g.take(1500), false, 'a PSI capture waits for the cooldown a load capture started');
  assert.equal(g.take(2000), true);
});

test('threshold watcher: captureFor extends the load fields, counts captures, shares the cooldown', async () => {
  const { w, captured } = fakeThresholdWatcher(1, 100);
  assert.equal(w.poll(0), null, 'load 1 is below the threshold');
  const s = await w.captureFor((base) => ({ ...base, reason: 'psi' }), 10);
  assert.ok(s);
  assert.equal(captured[0]!.trigger!.reason, 'psi');
  assert.equal(captured[0]!.trigger!.load1, 1, 'the last load1 read');
  assert.equal(captured[0]!.trigger!.capture_index, 1);
  assert.equal(
    w.captureFor((b) => b, 50),
    null,
    'cooldown',
  );
  assert.ok(await w.captureFor((b) => b, 110));
  assert.equal(captured[1]!.trigger!.capture_index, 2);
});

test('watch loop: onWake checks now instead of at the next interval', async () => {
  let wake: () => void = () => {};
  let fired = false;
  let polls = 0;
  const w: Watcher = {
    poll: () => {
      polls++;
      return fired ? fakeSnapshot(7) : null;
    },
    nextDelay: () => 3_600_000,
    onWake: (f) => {
      wake = f;
    },
    close: () => {},
  };
  const run = runWatch(w, { intervalMs: 3_600_000, count: 1, signal: new AbortController().signal }, () => {});
  assert.equal(polls, 1, 'the first check at start');
  fired = true;
  wake();
  assert.equal(await run, 1);
  assert.equal(polls, 2);
});
