/**
 * The recorder's pacing (src/record/pacer.ts) with a fake waiter and mocked
 * clocks: rows from the waiter below the level, its own samples at or above
 * it, back to rows when the load falls, and nothing lost at the stop.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';

import { waiterError } from '../../src/errors.ts';
import { Pacer, ROW_BATCH, ROWS_FLUSH_MS } from '../../src/record/pacer.ts';
import type { RowSource, RowsRequest } from '../../src/trigger/waiter.ts';
import type { WaiterRow } from '../../src/trigger/waiter-protocol.ts';

const PERIOD = 1000;
const PHASE = 300;
const LEVEL = 1.5;

class FakeWaiter implements RowSource {
  readonly ready = Promise.resolve();
  readonly error = null;
  readonly calls: string[] = [];
  /** What `flush` delivers before its answer (the rows the waiter held). */
  pending: WaiterRow[] = [];
  /** The waiter's answer to a `rows` with a spool it cannot open (null: it opens it). */
  spoolRefusal: string | null = null;
  private rowCb: (r: WaiterRow) => void = () => {};
  private exitCb: (e: never) => void = () => {};
  onRow(cb: (r: WaiterRow) => void): void {
    this.rowCb = cb;
  }
  onExit(cb: (e: never) => void): void {
    this.exitCb = cb;
  }
  async startRows(req: RowsRequest): Promise<void> {
    this.calls.push(`rows ${req.periodMs} ${req.phaseMs} ${req.batch} ${req.flushAbove}${req.spool ? ` ${req.spool}` : ''}`);
    if (req.spool && this.spoolRefusal) throw waiterError(`rows: ${this.spoolRefusal}`, this.spoolRefusal);
  }
  async flushRows(ackMs?: number): Promise<void> {
    this.calls.push(`flush ${ackMs}`);
    this.send(this.pending.splice(0));
  }
  async stopRows(): Promise<void> {
    this.calls.push('norows');
  }
  send(rows: WaiterRow[]): void {
    for (const r of rows) this.rowCb(r);
  }
  die(): void {
    this.exitCb(undefined as never);
  }
}

const row = (timeMs: number, load1: number): WaiterRow => ({ timeMs, load1, load5: 0, load15: 0, runnable: 1, threads: 100, pressure: {} });

interface Run {
  pacer: Pacer;
  stored: number[];
  sampled: number[];
  rises: number[];
  notes: string[];
  /** load1 the recorder's own samples read. */
  load: { value: number };
}

function setup(waiter: FakeWaiter | null, spool?: string): Run {
  const run: Omit<Run, 'pacer'> = { stored: [], sampled: [], rises: [], notes: [], load: { value: 0 } };
  const pacer = new Pacer({
    periodMs: PERIOD,
    phaseMs: PHASE,
    level: LEVEL,
    rows: waiter,
    spool,
    sample: async (now) => {
      run.sampled.push(now);
      return run.load.value;
    },
    rowsArrived: async (rows) => {
      run.stored.push(...rows.map((r) => r.timeMs));
    },
    onRise: (now) => run.rises.push(now),
    status: (l) => run.notes.push(l),
  });
  return { ...run, pacer };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};
const advance = async (ms: number): Promise<void> => {
  for (let left = ms; left > 0; left -= 100) {
    mock.timers.tick(Math.min(100, left));
    await settle();
  }
};

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 10_000 }));
afterEach(() => mock.timers.reset());

test('below the level the waiter takes the rows: Node stores each batch and samples nothing', async () => {
  const w = new FakeWaiter();
  const r = setup(w);
  await r.pacer.start();
  // Its first sample at start, as before; low, so the waiter takes the next rows.
  assert.deepEqual(r.sampled, [10_000]);
  assert.deepEqual(w.calls, [`rows ${PERIOD} ${PHASE} ${ROW_BATCH} ${LEVEL}`]);
  assert.equal(r.pacer.source, 'rows');
  await advance(9_000);
  w.send(Array.from({ length: ROW_BATCH }, (_, i) => row(10_300 + i * PERIOD, 0.2)));
  await advance(9_000);
  assert.equal(r.stored.length, ROW_BATCH);
  assert.deepEqual(r.sampled, [10_000]);
  assert.deepEqual(r.notes, []);
});

test('a row at the level hands over to the recorder, whose low sample hands back', async () => {
  const w = new FakeWaiter();
  const r = setup(w);
  await r.pacer.start();
  await advance(1_300);
  w.send([row(10_300, 0.4), row(11_300, 2.0)]);
  await settle();
  assert.equal(r.pacer.source, 'self');
  assert.deepEqual(w.calls.slice(1), ['norows']);
  assert.equal(r.rises.length, 1);
  // Its own samples at the phase, from the next period on.
  r.load.value = 2.5;
  await advance(2_000);
  assert.deepEqual(r.sampled, [10_000, 12_300, 13_300]);
  r.load.value = 0.3;
  await advance(1_000);
  assert.deepEqual(r.sampled, [10_000, 12_300, 13_300, 14_300]);
  assert.equal(r.pacer.source, 'rows');
  assert.equal(w.calls.at(-1), `rows ${PERIOD} ${PHASE} ${ROW_BATCH} ${LEVEL}`);
  await advance(3_000);
  assert.equal(r.sampled.length, 4, 'no more samples of its own');
  assert.deepEqual(r.stored, [10_300, 11_300]);
});

test('the stop asks the waiter for its pending rows and stores them before it resolves', async () => {
  const w = new FakeWaiter();
  const r = setup(w);
  await r.pacer.start();
  await advance(7_000);
  w.pending = [10_300, 11_300, 12_300, 13_300, 14_300, 15_300, 16_300].map((t) => row(t, 0.1));
  await r.pacer.finish();
  assert.equal(w.calls.at(-1), `flush ${ROWS_FLUSH_MS}`);
  assert.equal(r.stored.length, 7);
  // Rows after the stop (the waiter's last words) are not stored: the store is closing.
  w.send([row(17_300, 0.1)]);
  await settle();
  assert.equal(r.stored.length, 7);
});

test('a waiter that dies or goes silent: the recorder samples every period itself', async () => {
  for (const how of ['dies', 'silent'] as const) {
    const w = new FakeWaiter();
    const r = setup(w);
    await r.pacer.start();
    if (how === 'dies') w.die();
    else await advance(ROW_BATCH * PERIOD + 5_000);
    await settle();
    assert.equal(r.pacer.source, 'self', how);
    const before = r.sampled.length;
    await advance(3_000);
    assert.equal(r.sampled.length - before, 3, how);
    // Its low samples do not hand back to a waiter that failed.
    assert.equal(w.calls.filter((c) => c.startsWith('rows')).length, 1, how);
    assert.deepEqual(r.notes.length, how === 'silent' ? 1 : 0, how);
    await r.pacer.finish();
    assert.equal(w.calls.filter((c) => c.startsWith('flush')).length, 0, how);
  }
});

test('a recorder started at high load scans at once and leaves the waiter alone', async () => {
  const w = new FakeWaiter();
  const r = setup(w);
  r.load.value = 3;
  await r.pacer.start();
  await advance(2_000);
  assert.deepEqual(r.sampled, [10_000, 10_300, 11_300]);
  assert.deepEqual(w.calls, []);
  assert.equal(r.pacer.source, 'self');
  await r.pacer.finish();
});

test('without a waiter the recorder samples at start and every period, as before', async () => {
  const r = setup(null);
  await r.pacer.start();
  await advance(3_000);
  assert.deepEqual(r.sampled, [10_000, 10_300, 11_300, 12_300]);
  await r.pacer.finish();
});

test('rows with the spool; a spool the waiter cannot open is said once and the rows go on without it', async () => {
  const ok = new FakeWaiter();
  const a = setup(ok, '/var/lib/loadmon/loadmon.db.rows');
  await a.pacer.start();
  assert.deepEqual(ok.calls, [`rows ${PERIOD} ${PHASE} ${ROW_BATCH} ${LEVEL} /var/lib/loadmon/loadmon.db.rows`]);
  assert.deepEqual(a.notes, []);
  await a.pacer.finish();

  const refusing = new FakeWaiter();
  refusing.spoolRefusal = 'spool /ro/loadmon.db.rows: Read-only file system';
  const b = setup(refusing, '/ro/loadmon.db.rows');
  await b.pacer.start();
  assert.deepEqual(refusing.calls, [
    `rows ${PERIOD} ${PHASE} ${ROW_BATCH} ${LEVEL} /ro/loadmon.db.rows`,
    `rows ${PERIOD} ${PHASE} ${ROW_BATCH} ${LEVEL}`,
  ]);
  assert.equal(b.pacer.source, 'rows');
  assert.equal(b.notes.length, 1);
  assert.match(b.notes[0]!, /Read-only file system; without a spool, a SIGKILL loses the rows of the last 10s/);
  // Handed back after a rise: not asked for the spool again.
  refusing.send([row(10_300, 2.0)]);
  await settle();
  b.load.value = 0.2;
  await advance(2_000);
  assert.equal(refusing.calls.at(-1), `rows ${PERIOD} ${PHASE} ${ROW_BATCH} ${LEVEL}`);
  assert.equal(b.notes.length, 1);
  await b.pacer.finish();
});
