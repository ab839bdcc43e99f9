import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Collector } from '../../src/collect/collector.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { CaptureGate } from '../../src/trigger/gate.ts';
import type { LoadProbe } from '../../src/trigger/load-probe.ts';
import { ThresholdWatcher } from '../../src/trigger/procfs-watcher.ts';
import { LOAD_FREQ_MS, UpdatePhase } from '../../src/trigger/update-phase.ts';
import { runWatch, type Watcher } from '../../src/trigger/watch.ts';
import { emptySnapshot } from '../helpers/snapshots.ts';

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

test('threshold watcher: captures with trigger details, respects cooldown', async () => {
  const loads = [1, 4, 4, 4, 2, 4];
  let i = 0;
  const probe = {
    read: () => {
      const load1 = loads[i++]!;
      return { load1, loads: `${load1.toFixed(2)} 0.00 0.00 ` };
    },
    close: () => {},
  } as unknown as LoadProbe;
  const captured: Snapshot[] = [];
  const collector: Collector = {
    source: 'procfs',
    capture: (o) => {
      const s = emptySnapshot(4);
      s.trigger = o.trigger ?? null;
      captured.push(s);
      return Promise.resolve(s);
    },
    close: () => {},
  };
  const w = new ThresholdWatcher(collector, probe, {
    threshold: 3,
    thresholdText: '3',
    cooldownMs: 100,
    depth: 20,
    intervalMs: 10,
    now: 0,
  });
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
    poll: () => (++polls % 2 === 1 ? emptySnapshot(polls) : null),
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
  await assert.rejects(
    runWatch(bad, { intervalMs: 2, signal: new AbortController().signal }, () => {}),
    /boom/,
  );
});

test('update phase: fast reads while searching, then only around each expected update', () => {
  const p = new UpdatePhase(10, 0, { marginMs: 150, idleMs: 250, searchMs: 6000 });
  // Searching: every interval.
  assert.equal(p.nextDelay(0), 10);
  assert.equal(p.observe('0.10 0.05 0.01 ', 0), false);
  assert.equal(p.observe('0.10 0.05 0.01 ', 1000), false);
  assert.equal(p.nextDelay(1000), 10);
  // The kernel updates between the reads at 1990 and 2000.
  p.observe('0.10 0.05 0.01 ', 1990);
  assert.equal(p.observe('0.20 0.07 0.02 ', 2000), true);
  // Right after an update: sleep in idle-sized steps until the window opens.
  assert.equal(p.nextDelay(2000), 250);
  // Window for the next update (expected at 1990 + 5000) opens 150 ms early.
  assert.equal(p.nextDelay(6700), 140);
  assert.equal(p.nextDelay(6840), 10);
  assert.equal(p.nextDelay(7000), 10);
  // ... and closes after expected + slack + margin.
  assert.equal(p.nextDelay(7150), 10);
  assert.equal(p.nextDelay(7200), 250);
  // No change seen in that window (same values): the phase carries on by itself.
  assert.equal(p.nextDelay(11_800), 40);
  assert.equal(p.nextDelay(11_845), 10);
});

test('update phase: long intervals are used as they are; search gives up after searchMs', () => {
  assert.equal(new UpdatePhase(1000, 0).nextDelay(0), 1000);
  const p = new UpdatePhase(10, 0, { searchMs: 6000, idleMs: 250 });
  p.observe('0.00 0.00 0.00 ', 0);
  assert.equal(p.nextDelay(5999), 10);
  assert.equal(p.nextDelay(6001), 250);
  assert.equal(LOAD_FREQ_MS, 5000);
});

test('threshold watcher: above threshold, the next check comes when the cooldown ends', async () => {
  let t = 0;
  const probe = { read: () => ({ load1: 5, loads: '5.00 1.00 1.00 ' }), close: () => {} } as unknown as LoadProbe;
  const collector: Collector = { source: 'procfs', capture: () => Promise.resolve(emptySnapshot(5)), close: () => {} };
  const w = new ThresholdWatcher(collector, probe, {
    threshold: 3,
    thresholdText: '3',
    cooldownMs: 20_000,
    depth: 20,
    intervalMs: 10,
    now: 0,
  });
  assert.ok(await w.poll(t));
  t = 7000; // searching phase would say 10 ms; the phase never changes here, so search ends at 6 s
  assert.equal(w.poll(t), null);
  assert.equal(w.nextDelay(t), 250);
  t = 19_900;
  assert.equal(w.poll(t), null);
  assert.equal(w.nextDelay(t), 100);
});
