import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Collector } from '../../src/collect/collector.ts';
import { type LoadmonError, waiterError } from '../../src/errors.ts';
import { render } from '../../src/format/index.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { CaptureGate } from '../../src/trigger/gate.ts';
import type { LoadProbe } from '../../src/trigger/load-probe.ts';
import { ThresholdWatcher } from '../../src/trigger/procfs-watcher.ts';
import { parseTriggerSpecs } from '../../src/trigger/psi-spec.ts';
import { armPsiTriggers, checkPsiTriggers, hasSysResource } from '../../src/trigger/psi-trigger.ts';
import type { PsiEventSource } from '../../src/trigger/psi-watcher.ts';
import { runWatch, type Watcher } from '../../src/trigger/watch.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { assertSchema, schemaErrors } from '../helpers/json-schema.ts';
import { emptySnapshot } from '../helpers/snapshots.ts';

/** A ThresholdWatcher over a fixed load1 and a collector that records what it was asked to capture. */
function fakeThresholdWatcher(load1: number, cooldownMs: number): { w: ThresholdWatcher; captured: Snapshot[] } {
  const probe = { read: () => ({ load1, loads: `${load1.toFixed(2)} 0.00 0.00 ` }), close: () => {} } as unknown as LoadProbe;
  const captured: Snapshot[] = [];
  const collector: Collector = {
    source: 'procfs',
    capture: (o) => {
      const s = emptySnapshot(load1);
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
      return fired ? emptySnapshot(7) : null;
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

/** A waiter stand-in: records registrations, refuses what `refuse` says, fires events on demand. */
class FakeSource implements PsiEventSource {
  readonly added: string[] = [];
  private psi: (id: string, tMs: number) => void = () => {};
  private gone: (id: string) => void = () => {};
  private exit: (err: LoadmonError) => void = () => {};
  constructor(private readonly refuse: Record<string, LoadmonError> = {}) {}
  addPsi(req: { id: string; resource: string; kind: string; stallUs: number; windowUs: number }): Promise<void> {
    const err = this.refuse[req.id];
    if (err) return Promise.reject(err);
    this.added.push(`${req.id} ${req.resource} ${req.kind} ${req.stallUs} ${req.windowUs}`);
    return Promise.resolve();
  }
  onPsi(cb: (id: string, tMs: number) => void): void {
    this.psi = cb;
  }
  onPsiGone(cb: (id: string) => void): void {
    this.gone = cb;
  }
  onExit(cb: (err: LoadmonError) => void): void {
    this.exit = cb;
  }
  fire(id: string): void {
    this.psi(id, 123.456);
  }
  drop(id: string): void {
    this.gone(id);
  }
  die(err: LoadmonError): void {
    this.exit(err);
  }
}

const SPECS = parseTriggerSpecs(['psi:io:some:150ms/2s', 'psi:memory:full:0.5s/4s']);

test('psi watcher: registers each trigger in kernel units; an event captures with reason psi, the load rule still applies', async () => {
  const { w, captured } = fakeThresholdWatcher(1, 1000);
  const source = new FakeSource();
  const lines: string[] = [];
  const pw = await armPsiTriggers(w, SPECS, source, (l) => lines.push(l));
  assert.deepEqual(source.added, ['1 io some 150000 2000000', '2 memory full 500000 4000000']);
  assert.match(lines.join('\n'), /PSI triggers armed: psi:io:some:150ms\/2s, psi:memory:full:0.5s\/4s/);
  assert.equal(pw.poll(0), null, 'no event, load below the threshold');
  source.fire('2');
  source.fire('1');
  const snap = await pw.poll(10);
  assert.ok(snap);
  assert.equal(snap.trigger?.reason, 'psi');
  assert.deepEqual(snap.trigger?.psi, { resource: 'memory', kind: 'full', stall_ms: 500, window_ms: 4000 }, 'the first that fired');
  assert.equal(pw.poll(20), null, 'the events were consumed');
  assert.ok(pw.nextDelay!(20) > 0, 'nothing pending: the load rule paces the checks');
  source.fire('1');
  assert.equal(pw.nextDelay!(30), 0, 'an event the loop could not take (a capture ran): checked at once');
  source.fire('1');
  assert.equal(pw.poll(500), null, 'an event inside the shared cooldown is dropped');
  source.fire('9');
  assert.equal(pw.poll(1100), null, 'an id no trigger has is ignored');
  source.fire('1');
  const second = await pw.poll(1200);
  assert.equal(second?.trigger?.psi?.resource, 'io');
  assert.equal(second?.trigger?.capture_index, 2);
  assert.equal(captured.length, 2);
  assertSchema('snapshot.schema.json', JSON.parse(render(second!, 'json', true)), 'a psi capture');
  const text = render(second!, 'text', false);
  assert.match(
    text,
    /^trigger: PSI event psi:io:some:150ms\/2s \(io some stall >= 150ms within 2s; load1 1\.00, threshold 3; capture #2\)$/m,
  );
});

test('psi watcher: an event wakes the loop; a dropped trigger is said; a dead waiter stops the watch', async () => {
  const { w } = fakeThresholdWatcher(1, 0);
  const source = new FakeSource();
  const lines: string[] = [];
  const pw = await armPsiTriggers(w, SPECS.slice(0, 1), source, (l) => lines.push(l));
  const got: Snapshot[] = [];
  const ac = new AbortController();
  const run = runWatch(pw, { intervalMs: 3_600_000, count: 2, signal: ac.signal }, (s) => got.push(s));
  source.fire('1');
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 1, 'captured on the event, not an hour later');
  source.drop('1');
  assert.match(lines.at(-1)!, /PSI trigger psi:io:some:150ms\/2s stopped: the kernel dropped it/);
  source.die(waiterError('/x exited with status 1', 'exited with status 1', '/x'));
  await assert.rejects(run, /native waiter/);
});

test("psi watcher: refusals name --trigger; the waiter's own trouble stays E_WAITER; the module is refused", async () => {
  const refused = new FakeSource({ '1': waiterError('psi 1: Invalid argument', 'Invalid argument') });
  await assert.rejects(armPsiTriggers(fakeThresholdWatcher(1, 0).w, SPECS, refused, null), (err: LoadmonError) => {
    assert.equal(err.code, 'E_INVALID_OPTION');
    assert.equal(err.fields.option, '--trigger');
    assert.match(err.message, /psi:io:some:150ms\/2s.*refused: Invalid argument/);
    return true;
  });
  const timeout = new FakeSource({ '2': waiterError("no answer to 'psi 2' in 3000 ms", 'timeout') });
  await assert.rejects(armPsiTriggers(fakeThresholdWatcher(1, 0).w, SPECS, timeout, null), { code: 'E_WAITER' });
  const kmodLike: Watcher = { poll: () => null, close: () => {} };
  await assert.rejects(armPsiTriggers(kmodLike, SPECS, new FakeSource(), null), /kernel module triggers by itself/);
  assert.equal(await armPsiTriggers(kmodLike, [], new FakeSource(), null), kmodLike, 'no PSI trigger: the watcher as it is');
});

test('psi checks: CAP_SYS_RESOURCE from CapEff; windows of 2s multiples without it; a missing PSI file', () => {
  assert.equal(hasSysResource('Name:\tx\nCapEff:\t000001ffffffffff\n'), true);
  assert.equal(hasSysResource('CapEff:\t000001fffeffffff\n'), false, 'bit 24 clear');
  assert.equal(hasSysResource('Name:\tx\n'), null);
  const root = FIXTURES;
  const noCap = 'CapEff:\t0000000000000000\n';
  const [io1s] = parseTriggerSpecs(['psi:io:some:150ms/1s']);
  assert.throws(() => checkPsiTriggers([io1s!], '/proc', noCap), /multiples of 2s/);
  checkPsiTriggers([io1s!], '/proc', 'CapEff:\t0000000001000000\n');
  checkPsiTriggers(SPECS, '/proc', noCap);
  assert.throws(
    () => checkPsiTriggers(SPECS, root, noCap),
    (err: LoadmonError) => {
      assert.equal(err.code, 'E_PSI_UNAVAILABLE');
      assert.equal(err.exitStatus, 2);
      assert.equal(err.fields.path, `${FIXTURES}/pressure/io`);
      return true;
    },
  );
});

test('snapshot schema: reason psi requires psi, and the load rule must not carry it', () => {
  const base = {
    ...emptySnapshot(2),
    trigger: { reason: 'psi', threshold: 3, threshold_spec: '3', load1: 2, cooldown_ms: 0, capture_index: 1 },
  };
  assert.ok(schemaErrors('snapshot.schema.json', base).length > 0, 'psi without psi');
  const load = {
    ...base,
    trigger: { ...base.trigger, reason: 'load1>=threshold', psi: { resource: 'io', kind: 'some', stall_ms: 1, window_ms: 1000 } },
  };
  assert.ok(schemaErrors('snapshot.schema.json', load).length > 0, 'load with psi');
  const badWindow = { ...base, trigger: { ...base.trigger, psi: { resource: 'io', kind: 'some', stall_ms: 1, window_ms: 100 } } };
  assert.ok(schemaErrors('snapshot.schema.json', badWindow).length > 0, 'window under 500 ms');
});
