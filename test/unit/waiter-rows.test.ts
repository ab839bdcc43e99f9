/**
 * The waiter's rows (the recorder's light timeline rows, docs/trigger.md
 * "Rows"): sessions recorded from native/waiter.c on this machine
 * (fixtures/waiter/rows-session.txt: the real /proc; rows-fake-root.txt:
 * --proc-root over a tree whose cpu file has no `full` line, whose memory
 * file is missing and whose io total is the largest u64).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseWaiterLine, rowsCommand, spoolable } from '../../src/trigger/waiter-protocol.ts';
import { fixture } from '../helpers/fixtures.ts';

const lines = (name: string): string[] => fixture('waiter', name).trimEnd().split('\n');

test('every line of a real rows session parses, rows with the numbers as the kernel wrote them', () => {
  const parsed = lines('rows-session.txt').map(parseWaiterLine);
  assert.ok(parsed.every((l) => l !== null));
  assert.deepEqual(parsed[1], { type: 'done', command: 'rows' });
  const row = parsed[2];
  assert.equal(row?.type, 'row');
  if (row?.type !== 'row') return;
  assert.deepEqual(row.row, {
    timeMs: 1796158877300,
    load1: 2.88,
    load5: 6.13,
    load15: 4.87,
    runnable: 1,
    threads: 89,
    pressure: {
      cpu: { some: { avg10: 0.47, avg60: 2.47, avg300: 9.73, totalUs: 6699796138 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 } },
      io: {
        some: { avg10: 91.61, avg60: 71.58, avg300: 26.35, totalUs: 4729687999 },
        full: { avg10: 90.59, avg60: 70.49, avg300: 25.59, totalUs: 3353668437 },
      },
      memory: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 293546100 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 211518134 } },
    },
  });
  assert.deepEqual(parsed.slice(4), [
    { type: 'done', command: 'flush' },
    { type: 'done', command: 'norows' },
    { type: 'refused', command: 'rows', text: 'usage: rows <period_ms> <phase_ms> <batch> <flush_above>' },
    { type: 'refused', command: 'rows', text: 'period 100..60000 ms, 0 <= phase < period, batch 1..60' },
  ]);
});

test('a missing full line is null, an unreadable resource is absent', () => {
  const row = parseWaiterLine(lines('rows-fake-root.txt')[2]!);
  assert.equal(row?.type, 'row');
  if (row?.type !== 'row') return;
  assert.deepEqual(row.row.pressure.cpu, { some: { avg10: 0.08, avg60: 0.06, avg300: 0.03, totalUs: 5073794 }, full: null });
  assert.equal(row.row.pressure.io?.full?.avg10, 100);
  assert.equal('memory' in row.row.pressure, false);
  assert.equal(row.row.runnable, 2);
  assert.equal(row.row.threads, 1234);
});

test("rows lines that are not exactly the waiter's are refused", () => {
  const good = lines('rows-fake-root.txt')[2]!;
  for (const bad of [
    good.replace(' 2 1234 ', ' 2/1234 '),
    good.replace('0.52', '0.5'),
    good.replace(' -', ''),
    good.replace('0.08,0.06', '0.08;0.06'),
    `${good} extra`,
    'ok rows now',
    'ok quit',
  ]) {
    assert.equal(parseWaiterLine(bad), null, bad);
  }
});

test('rowsCommand says what the waiter takes and refuses what it would refuse', () => {
  assert.equal(rowsCommand(1000, 617, 10, 1.5), 'rows 1000 617 10 1.5');
  const refused: Array<[number, number, number, number]> = [
    [50, 0, 1, 1],
    [1000, 1000, 10, 1],
    [1000, 10, 0, 1],
    [1000, 10, 61, 1],
    [1000.5, 10, 10, 1],
    [1000, 10, 10, -1],
    [1000, 10, 10, Number.NaN],
  ];
  for (const args of refused) assert.throws(() => rowsCommand(...args), RangeError, args.join(' '));
});

test('rowsCommand carries a spool path the waiter can split off, and refuses one it cannot', () => {
  assert.equal(
    rowsCommand(1000, 617, 10, 1.5, '/var/lib/loadmon/loadmon.db.rows'),
    'rows 1000 617 10 1.5 /var/lib/loadmon/loadmon.db.rows',
  );
  for (const bad of ['/var/lib/my db.rows', '/tmp/a\nrows 1 2 3', '/tmp/tab\there', '']) {
    assert.equal(spoolable(bad), false, JSON.stringify(bad));
    assert.throws(() => rowsCommand(1000, 617, 10, 1.5, bad), RangeError);
  }
});
