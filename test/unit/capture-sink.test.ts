/**
 * top --db's store of kept captures (src/record/capture-sink.ts): nothing is
 * opened until the first capture; each one is committed when kept (a reader
 * sees it before top exits); a store another writer holds refuses it with
 * the holder named, and the next capture is tried again once it is free.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { CaptureSink } from '../../src/record/capture-sink.ts';
import { acquireStoreLock } from '../../src/store/lock.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { emptySnapshot } from '../helpers/snapshots.ts';
import { SESSION } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-sink-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sink(path: string): CaptureSink {
  return new CaptureSink({
    path,
    policy: { retainMs: 7 * 86_400_000, maxBytes: 256 * 1024 * 1024 },
    session: { ...SESSION, startedMs: Date.now(), pid: process.pid },
  });
}

test('the store is created at the first capture, and each capture is readable as soon as it is kept', () => {
  const db = join(dir, 'a.db');
  const s = sink(db);
  assert.equal(existsSync(db), false);
  const snap = emptySnapshot(4);
  assert.deepEqual(s.keep(snap), { id: 1 });
  assert.deepEqual(s.keep(emptySnapshot(5)), { id: 2 });
  const r = StoreReader.open(db);
  try {
    assert.equal(r.snapshot(1).loadavg.load1, snap.loadavg.load1);
    assert.equal(r.snapshot(2).loadavg.load1, 5);
  } finally {
    r.close();
    s.close();
  }
});

test('a store held by another writer: not stored, the holder named; tried again at the next capture', () => {
  const db = join(dir, 'held.db');
  const lock = acquireStoreLock(db);
  const s = sink(db);
  try {
    const r = s.keep(emptySnapshot(4));
    assert.ok('error' in r && new RegExp(`already being recorded into by loadmon \\(pid ${process.pid},`).test(r.error), JSON.stringify(r));
    lock.release();
    assert.deepEqual(s.keep(emptySnapshot(4)), { id: 1 });
  } finally {
    lock.release();
    s.close();
  }
});
