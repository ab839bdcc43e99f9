/**
 * Damaged and unreadable stores (issue 11, items 5 and 6) through the store
 * API: what is moved aside and how, what is refused, and what a reader of a
 * newer store is told.
 */

import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import Database from 'better-sqlite3';

import { LoadmonError, storeCorrupt } from '../../src/errors.ts';
import { DurableStore } from '../../src/record/durable-store.ts';
import { hasSqliteHeader, isCorruption, moveAside, readFailure } from '../../src/store/damage.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { SCHEMA_VERSION } from '../../src/store/schema.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { SESSION, sample } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-store-damage-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.parse('2026-12-01T10:00:00Z');

/** A store with enough samples to span many pages, closed cleanly. */
function filledStore(name: string): string {
  const path = join(dir, name);
  const w = StoreWriter.open(path, T0);
  w.beginSession(SESSION);
  for (let i = 0; i < 2000; i++) w.insertSample(sample(T0 + i * 1000, 4, [{ pid: 100 + (i % 50), comm: `w${i % 50}`, r: 1, d: 1 }]));
  w.close();
  return path;
}

/** Overwrites every page after the first two (header and schema, pointer map) with garbage. */
function damage(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    for (let off = 2 * 4096; off < statSync(path).size; off += 4096) writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, off);
  } finally {
    closeSync(fd);
  }
}

const isCode =
  (code: string, text: RegExp) =>
  (e: unknown): boolean =>
    e instanceof LoadmonError && e.code === code && text.test(e.message);

test('reader: a damaged page is E_STORE_CORRUPT naming the store once a query reaches it', () => {
  const path = filledStore('damaged.db');
  damage(path);
  const r = StoreReader.open(path);
  try {
    let raw: unknown;
    try {
      r.loadCurve(0, 8.64e15);
    } catch (err) {
      raw = err;
    }
    assert.ok(isCorruption(raw), `a SQLite corruption error: ${String(raw)}`);
    const e = readFailure(path, raw);
    assert.ok(isCode('E_STORE_CORRUPT', new RegExp(`^store ${path} is damaged \\(database disk image is malformed\\)$`))(e), String(e));
    assert.equal((e as LoadmonError).exitStatus, 1);
  } finally {
    r.close();
  }
});

test('reader: a file that is not a database is E_STORE_CORRUPT "not a SQLite database"; bugs pass through readFailure', () => {
  const path = join(dir, 'text.db');
  writeFileSync(path, 'hello\n'.repeat(1000));
  assert.equal(hasSqliteHeader(path), false);
  assert.throws(() => StoreReader.open(path), isCode('E_STORE_CORRUPT', /is not a SQLite database \(file is not a database\)$/));
  const bug = new TypeError('x is undefined');
  assert.equal(readFailure(path, bug), bug);
  const mine = storeCorrupt(path, new Error('y'));
  assert.equal(readFailure(path, mine), mine);
});

test('reader: a store from a newer loadmon is refused with E_STORE_VERSION, and nothing is written to it', () => {
  const path = join(dir, 'newer.db');
  StoreWriter.open(path, T0).close();
  const db = new Database(path);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  const before = readFileSync(path);
  assert.throws(() => StoreReader.open(path), isCode('E_STORE_VERSION', /newer than this loadmon understands/));
  assert.deepEqual(readFileSync(path), before);
});

test('moveAside: the file, its -wal and -shm get one new name (SQLite opens the moved file with its WAL)', () => {
  const path = join(dir, 'aside.db');
  const w = StoreWriter.open(path, T0);
  w.beginSession(SESSION);
  // An open connection keeps the -wal and -shm; a second one reads the committed row from the WAL.
  w.insertSample(sample(T0, 1, null));
  assert.ok(existsSync(`${path}-wal`));
  const to = moveAside(path, T0);
  w.close();
  assert.equal(to, `${path}.corrupt-20261201T100000Z`);
  assert.equal(existsSync(path), false);
  assert.equal(moveAside(filledStore('aside.db'), T0), `${to}.1`, 'a second move in the same second gets its own name');
  const r = StoreReader.open(to);
  assert.equal(r.loadCurve(0, 8.64e15)?.samples, 1);
  r.close();
});

test('DurableStore: a damaged store is moved aside with one note and recording goes on in a new store', () => {
  const path = filledStore('record.db');
  damage(path);
  const log: string[] = [];
  const s = new DurableStore({ path, policy: { retainMs: 7 * 86_400_000, maxBytes: 1 << 30 }, session: SESSION, log: (l) => log.push(l) });
  s.start(T0);
  s.addSample(sample(T0, 2, null), T0);
  assert.ok(s.writable);
  s.close();
  assert.equal(log.length, 1, log.join('\n'));
  assert.match(
    log[0]!,
    new RegExp(
      /^store .*record\.db is damaged \(database disk image is malformed\); /.source +
        /moved it aside to .*record\.db\.corrupt-20261201T100000Z and started a new store$/.source,
    ),
  );
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => f.startsWith('record.db'))
      .sort(),
    ['record.db', 'record.db.corrupt-20261201T100000Z'],
  );
  const r = StoreReader.open(path);
  assert.equal(r.loadCurve(0, 8.64e15)?.samples, 1);
  assert.equal(r.sessions().length, 1);
  r.close();
});

test('DurableStore: a file that is not a SQLite database is fatal, left untouched, and the lock is released', () => {
  const path = join(dir, 'notes.txt');
  writeFileSync(path, 'my notes\n'.repeat(1000));
  const s = new DurableStore({ path, policy: { retainMs: 86_400_000, maxBytes: 1 << 30 }, session: SESSION, log: () => {} });
  assert.throws(() => s.start(T0), isCode('E_STORE_CORRUPT', /notes\.txt is not a SQLite database: left untouched/));
  assert.equal(readFileSync(path, 'utf8'), 'my notes\n'.repeat(1000));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('notes.txt')),
    ['notes.txt'],
  );
});
