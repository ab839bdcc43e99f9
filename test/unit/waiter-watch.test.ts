/**
 * The load watcher with the native waiter (a fake LoadSource here; the real
 * one in test/integration/waiter.test.ts): it sleeps between updates once the
 * waiter is up and the loop gave it a wake-up, each update wakes the loop,
 * and a waiter that fails is said once and the watcher polls from Node again.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Collector } from '../../src/collect/collector.ts';
import { type LoadmonError, waiterError } from '../../src/errors.ts';
import type { LoadProbe } from '../../src/trigger/load-probe.ts';
import { HEARTBEAT_MS, ThresholdWatcher, WAITER_SAFETY_MS } from '../../src/trigger/procfs-watcher.ts';
import type { LoadSource, LoadUpdate } from '../../src/trigger/waiter.ts';
import { emptySnapshot } from '../helpers/snapshots.ts';

class FakeWaiter implements LoadSource {
  ready: Promise<void>;
  error: LoadmonError | null = null;
  closed = 0;
  /** The hush requests (below, every ms); `refuse`: they are refused. */
  hushed: Array<[number, number]> = [];
  refuse = false;
  load: ((u: LoadUpdate) => void) | null = null;
  exit: ((e: LoadmonError) => void) | null = null;
  start!: { resolve: () => void; reject: (e: LoadmonError) => void };
  constructor() {
    this.ready = new Promise((resolve, reject) => (this.start = { resolve, reject }));
  }
  onLoad(cb: (u: LoadUpdate) => void): void {
    this.load = cb;
  }
  onExit(cb: (e: LoadmonError) => void): void {
    this.exit = cb;
  }
  close(): void {
    this.closed++;
  }
  hush(below: number, everyMs: number): Promise<void> {
    this.hushed.push([below, everyMs]);
    return this.refuse ? Promise.reject(waiterError('hush: err unknown command', 'unknown command')) : Promise.resolve();
  }
  fail(why: string): void {
    this.error = waiterError(`died (${why})`, why);
    this.start.reject(this.error);
    this.exit?.(this.error);
  }
}

const UPDATE: LoadUpdate = { type: 'load', loads: '0.50 0.40 0.30', load1: 0.5, load5: 0.4, load15: 0.3, tMs: 1 };

function watcher(waiter: FakeWaiter, load1: () => number, log: string[], onLoad?: (l: number) => void, now = 0): ThresholdWatcher {
  const probe = { read: () => ({ load1: load1(), loads: `${load1().toFixed(2)} 0.00 0.00` }), close: () => {} } as unknown as LoadProbe;
  const collector: Collector = { source: 'procfs', capture: () => Promise.resolve(emptySnapshot(5)), close: () => {} };
  return new ThresholdWatcher(collector, probe, {
    threshold: 3,
    thresholdText: '3',
    cooldownMs: 20_000,
    depth: 20,
    intervalMs: 10,
    now,
    procRoot: '/nonexistent',
    waiter,
    log: (l) => log.push(l),
    ...(onLoad ? { onLoad } : {}),
  });
}

/** A watcher at load1 0.5 whose waiter is up and whose loop gave it a wake-up (counted). */
async function upAndWaking(fake: FakeWaiter): Promise<{ w: ThresholdWatcher; log: string[]; wakes: () => number }> {
  const log: string[] = [];
  const w = watcher(fake, () => 0.5, log);
  let wakes = 0;
  w.onWake(() => wakes++);
  fake.start.resolve();
  await fake.ready;
  return { w, log, wakes: () => wakes };
}

test('with the waiter up and a wake-up given, the watcher sleeps between updates and each update wakes it', async () => {
  const fake = new FakeWaiter();
  const log: string[] = [];
  const seen: number[] = [];
  const w = watcher(
    fake,
    () => 0.5,
    log,
    (l) => seen.push(l),
  );
  assert.equal(w.poll(0), null);
  // Still starting: Node's phase search (every --interval).
  assert.equal(w.nextDelay(0), 10);
  fake.start.resolve();
  await fake.ready;
  // Up, but no loop to wake: polling stays.
  assert.equal(w.nextDelay(1), 10);
  let wakes = 0;
  w.onWake(() => wakes++);
  assert.equal(w.nextDelay(2), WAITER_SAFETY_MS);
  fake.load!(UPDATE);
  fake.load!(UPDATE);
  assert.equal(wakes, 2);
  assert.deepEqual(seen, [0.5]);
  assert.deepEqual(log, []);
  w.close();
  assert.equal(fake.closed, 1);
});

test('once the waiter is up it is hushed below half the threshold; the safety timer is longer than its heartbeat', async () => {
  const fake = new FakeWaiter();
  const w = watcher(fake, () => 0.5, []);
  assert.deepEqual(fake.hushed, []);
  fake.start.resolve();
  await fake.ready;
  await Promise.resolve();
  assert.deepEqual(fake.hushed, [[1.5, HEARTBEAT_MS]]);
  assert.ok(WAITER_SAFETY_MS > HEARTBEAT_MS);
  w.close();
});

test('a refused hush changes nothing: the watcher sleeps on every line as before, and says nothing', async () => {
  const fake = new FakeWaiter();
  fake.refuse = true;
  const { w, log, wakes } = await upAndWaking(fake);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.equal(fake.hushed.length, 1);
  assert.equal(w.nextDelay(0), WAITER_SAFETY_MS);
  fake.load!(UPDATE);
  assert.equal(wakes(), 1);
  assert.deepEqual(log, []);
  w.close();
});

test('above the threshold the cooldown timer still runs with the waiter', async () => {
  const fake = new FakeWaiter();
  const w = watcher(fake, () => 5, []);
  fake.start.resolve();
  await fake.ready;
  w.onWake(() => {});
  assert.ok(await w.poll(0));
  assert.equal(w.poll(5000), null);
  assert.equal(w.nextDelay(5000), 15_000);
});

test('a waiter that dies is said once; the loop is woken and polls from Node again', async () => {
  const fake = new FakeWaiter();
  const { w, log, wakes } = await upAndWaking(fake);
  assert.equal(w.nextDelay(0), WAITER_SAFETY_MS);
  fake.fail('killed by SIGKILL');
  assert.equal(wakes(), 1);
  assert.equal(log.length, 1);
  assert.match(log[0]!, /^native waiter: died \(killed by SIGKILL\); polling \/proc\/loadavg from Node instead$/);
  assert.equal(w.nextDelay(1), 10);
});

test('a waiter that cannot start is said once and never used', async () => {
  const fake = new FakeWaiter();
  const log: string[] = [];
  const w = watcher(fake, () => 0.5, log);
  let wakes = 0;
  w.onWake(() => wakes++);
  fake.fail('ENOENT');
  await fake.ready.catch(() => {});
  assert.equal(log.length, 1);
  assert.equal(wakes, 0);
  assert.equal(w.nextDelay(0), 10);
});

test("the phase learnt from the waiter's lines carries over: a fallback reads around the next update, not every 10 ms", async () => {
  const fake = new FakeWaiter();
  const t0 = performance.now();
  const w = watcher(fake, () => 0.5, [], undefined, t0);
  w.onWake(() => {});
  fake.start.resolve();
  await fake.ready;
  // An update the waiter saw just now (t_ms on CLOCK_MONOTONIC, as it prints it).
  fake.load!({ ...UPDATE, tMs: Number(process.hrtime.bigint()) / 1e6 });
  const now = performance.now();
  assert.equal(w.poll(now), null);
  fake.fail('killed by SIGKILL');
  // Next update ~5 s away: the 250 ms safety net, not the 10 ms search of a watcher that knows no phase.
  assert.equal(w.nextDelay(now), 250);
  const blind = watcher(new FakeWaiter(), () => 0.5, [], undefined, t0);
  assert.equal(blind.nextDelay(now), 10);
});
