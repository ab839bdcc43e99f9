/**
 * `record`'s timeline rows from the native waiter (docs/trigger.md "Rows"):
 * an idle recorder still has one row per second, also when SIGTERM lands in
 * the middle of a batch; and a real load rise past the scan level (six tasks
 * blocked in vfork, D) hands the timeline to the recorder's own samples,
 * which scan and see them.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { StoreReader } from '../../src/store/reader.ts';
import { scratch, startRecord, until } from '../helpers/processes.ts';
import { newWorkload } from '../helpers/workload.ts';

const { dir, children } = scratch('loadmon-rows-');
const work = newWorkload();
after(() => work.stop());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function samples(db: string): ReturnType<StoreReader['samples']> {
  const r = StoreReader.open(db);
  try {
    return r.samples(0, 8.64e15);
  } finally {
    r.close();
  }
}

/** An idle run of `ms`, stopped by SIGTERM: the rows, and the wall-clock span it ran. */
async function idleRun(name: string, ms: number): Promise<{ rows: ReturnType<typeof samples>; from: number; to: number }> {
  const db = join(dir, `${name}.db`);
  const rec = startRecord(children, db, '--threshold', '1000', '--quiet');
  const from = Date.now();
  await sleep(ms);
  const to = Date.now();
  rec.child.kill('SIGTERM');
  assert.equal(await rec.exited, 0, rec.stderr());
  return { rows: samples(db), from, to };
}

/**
 * Every row 1 s after the one before (± the scheduling jitter), none
 * scanned; but the first: the recorder's own sample at start, off the phase.
 */
function assertEverySecond(rows: ReturnType<typeof samples>): void {
  for (let i = 2; i < rows.length; i++) {
    const gap = rows[i]!.t - rows[i - 1]!.t;
    assert.ok(gap >= 900 && gap <= 1100, `rows ${i - 1} and ${i} are ${gap} ms apart`);
  }
  assert.ok(rows.every((s) => !s.scanned && !s.thinned && s.r === null));
}

test('SIGTERM 7 s into an idle record: the store has every second, the pending batch flushed', { timeout: 60_000 }, async () => {
  const { rows, from, to } = await idleRun('term7', 7_000);
  // The sample at start, then a row per second of the run (the store opens a moment after the
  // spawn, the last row may be in flight).
  const seconds = Math.floor((to - from) / 1000);
  assert.ok(rows.length - 1 >= seconds - 1 && rows.length - 1 <= seconds + 1, `${rows.length} rows in ${to - from} ms`);
  assertEverySecond(rows);
  // Fewer than a batch from the waiter: only the stop's flush can have brought them.
  assert.ok(rows.length - 1 < 10);
});

test('SIGKILL 7 s into an idle record: the next record on the store stores the rows the waiter had spooled', {
  timeout: 60_000,
}, async () => {
  const db = join(dir, 'kill7.db');
  const first = startRecord(children, db, '--threshold', '1000', '--quiet');
  const from = Date.now();
  await sleep(7_000);
  const to = Date.now();
  first.child.kill('SIGKILL');
  await first.exited;
  // Fewer than a batch reached the store: the rest were only in the waiter (and its spool).
  const before = samples(db).length;
  assert.ok(before < 5, `${before} rows stored before the kill`);
  assert.ok(existsSync(`${db}.rows`), 'the spool is there');
  const second = startRecord(children, db, '--threshold', '1000');
  await until('the spooled rows stored', () => samples(db).filter((s) => s.t <= to).length > before, 20_000);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.stderr());
  assert.match(second.stderr(), /stored \d+ timeline row\(s\) that a killed recorder left in .*kill7\.db\.rows/);
  assert.equal(existsSync(`${db}.rows`), false, 'a clean stop removes the spool');
  // Every second of the killed run is there (the row in flight at the kill may not be).
  const rows = samples(db).filter((s) => s.t <= to);
  const seconds = Math.floor((to - from) / 1000);
  assert.ok(rows.length - 1 >= seconds - 2, `${rows.length} rows for ${to - from} ms`);
  assertEverySecond(rows);
});

test('an idle record of 25 s has one row per second, from the waiter', { timeout: 90_000 }, async () => {
  const { rows, from, to } = await idleRun('idle25', 25_000);
  const seconds = Math.floor((to - from) / 1000);
  assert.ok(rows.length - 1 >= seconds - 1 && rows.length - 1 <= seconds + 1, `${rows.length} rows in ${to - from} ms`);
  assertEverySecond(rows);
});

test("a load rise past the scan level switches to the recorder's own scanned samples", { timeout: 150_000 }, async () => {
  const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  // The scan level (half the threshold) just above load1 now: six D tasks cross it within ~10 s.
  const level = Math.ceil((load1 + 0.5) * 10) / 10;
  const db = join(dir, 'rise.db');
  const rec = startRecord(children, db, '--threshold', String(level * 2), '--cooldown', '1h', '--quiet');
  await sleep(3_000);
  const blocked = await Promise.all(Array.from({ length: 6 }, () => work.vfork(120, 'rowsvfork')));
  const scanned = (): number => samples(db).filter((s) => s.scanned || s.thinned).length;
  await until('scanned samples', () => scanned() >= 5, 100_000);
  rec.child.kill('SIGTERM');
  assert.equal(await rec.exited, 0, rec.stderr());

  const rows = samples(db);
  const first = rows.findIndex((s) => s.scanned);
  assert.ok(first > 0, 'rows before the rise');
  assert.ok(
    rows.slice(0, first).every((s) => s.r === null),
    'rows from the waiter carry no scan',
  );
  // From the switch on: a sample of its own every second, scanned while load1 stays at or above the level.
  for (let i = Math.max(first, 2); i < rows.length; i++) {
    const gap = rows[i]!.t - rows[i - 1]!.t;
    assert.ok(gap >= 900 && gap <= 1100, `rows ${i - 1} and ${i} are ${gap} ms apart`);
    if (rows[i]!.load1 >= level) assert.ok(rows[i]!.scanned || rows[i]!.thinned, `row ${i} (load1 ${rows[i]!.load1}) scanned`);
  }
  const r = StoreReader.open(db);
  try {
    const pids = new Set(blocked.map((b) => b.pid));
    const seen = r.procPoints(rows[first]!.t, rows.at(-1)!.t).filter((p) => pids.has(p.pid) && p.d > 0);
    assert.ok(seen.length > 0, 'the D tasks are in the scanned samples');
  } finally {
    r.close();
  }
});
