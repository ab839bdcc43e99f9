import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { readSpool, removeSpool, SPOOL_CAP, spoolPathFor } from '../../src/record/spool.ts';

const tmp = mkdtempSync(join(tmpdir(), 'loadmon-spool-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Rows as native/waiter.c writes them (taken from a real run): PSI "-" where a file is missing.
const ROW1 = 'row 1796159934501 1.90 1.51 2.42 1 291 9.70,12.32,8.45,6809323257:0.00,0.00,0.00,0 - -';
const ROW2 = 'row 1796159935501 1.91 1.51 2.42 2 304 9.70,12.32,8.45,6809327222:0.00,0.00,0.00,0 - -';
const ROW3 = 'row 1796159936501 1.92 1.52 2.42 1 316 7.94,11.91,8.39,6809329385:0.00,0.00,0.00,0 - -';

test('readSpool: the rows after the newest stored one, oldest first; a row cut by the kill is skipped', () => {
  const path = join(tmp, 'a.db.rows');
  writeFileSync(path, `${ROW1}\n${ROW2}\n${ROW3}\n${ROW3.slice(0, 40)}`);
  const rows = readSpool(path, 1796159934501);
  assert.deepEqual(
    rows.map((r) => [r.timeMs, r.load1, r.runnable, r.threads]),
    [
      [1796159935501, 1.91, 2, 304],
      [1796159936501, 1.92, 1, 316],
    ],
  );
  assert.equal(rows[0]!.pressure.cpu?.some?.totalUs, 6809327222);
  assert.equal(rows[0]!.pressure.io, undefined);
});

test('readSpool: none, a link, a directory and a huge file give no rows and no error', () => {
  assert.deepEqual(readSpool(join(tmp, 'missing.rows'), 0), []);
  const link = join(tmp, 'link.rows');
  writeFileSync(join(tmp, 'target'), `${ROW1}\n`);
  symlinkSync(join(tmp, 'target'), link);
  assert.deepEqual(readSpool(link, 0), []);
  const dir = join(tmp, 'dir.rows');
  mkdirSync(dir);
  assert.deepEqual(readSpool(dir, 0), []);
  // Only the first SPOOL_CAP bytes are read: the rows there count, nothing past it is parsed.
  const big = join(tmp, 'big.rows');
  writeFileSync(big, `${ROW1}\n${'x'.repeat(SPOOL_CAP)}\n${ROW2}\n`);
  assert.deepEqual(
    readSpool(big, 0).map((r) => r.timeMs),
    [1796159934501],
  );
});

test('spoolPathFor: next to the store; none for a path the waiter cannot split off', () => {
  assert.equal(spoolPathFor('/var/lib/loadmon/loadmon.db'), '/var/lib/loadmon/loadmon.db.rows');
  assert.equal(spoolPathFor('/var/lib/my store/loadmon.db'), undefined);
});

test('removeSpool: removes it; a missing one is fine', () => {
  const path = join(tmp, 'rm.rows');
  writeFileSync(path, `${ROW1}\n`);
  removeSpool(path);
  assert.deepEqual(readSpool(path, 0), []);
  removeSpool(path);
});
