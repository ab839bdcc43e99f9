/**
 * One session lookup for the report, /api/meta, the timeline and /metrics
 * (StoreReader.sessionAt, issue 12 item 2): the session a time falls in; a
 * time before every session gets the first (the closest); no time (a store
 * with sessions but no sample or capture yet) the newest.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { buildReport } from '../../src/analyze/report.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { VERSION } from '../../src/version.ts';
import { buildServer } from '../../src/web/server.ts';
import { SESSION, sample } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-session-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIRST = { ...SESSION, startedMs: 10_000, host: 'first', cpus: 2, threshold: 3 };
const SECOND = { ...SESSION, startedMs: 50_000, host: 'second', cpus: 4, threshold: 5 };

/** Two sessions; with `samples`, one sample in each. */
function twoSessions(name: string, samples: boolean): string {
  const path = join(dir, name);
  const w = StoreWriter.open(path);
  w.beginSession(FIRST);
  if (samples) w.insertSample(sample(20_000, 1, [{ pid: 7, comm: 'a', r: 1, d: 0 }]));
  w.beginSession(SECOND);
  if (samples) w.insertSample(sample(60_000, 1, [{ pid: 7, comm: 'a', r: 1, d: 0 }]));
  w.close();
  return path;
}

test('sessionAt: the last session started at or before the time; before all, the first; null, the newest', () => {
  const r = StoreReader.open(twoSessions('lookup.db', false));
  try {
    const host = (t: number | null): string | undefined => r.sessionAt(t)?.host;
    assert.equal(host(5_000), 'first', 'before every session: the closest, the first');
    assert.equal(host(10_000), 'first');
    assert.equal(host(49_999), 'first');
    assert.equal(host(50_000), 'second');
    assert.equal(host(1e12), 'second');
    assert.equal(host(null), 'second', 'no time: the session recording now');
  } finally {
    r.close();
  }
});

test('sessionAt: a store without sessions has none', () => {
  const path = join(dir, 'none.db');
  StoreWriter.open(path).close();
  const r = StoreReader.open(path);
  try {
    assert.equal(r.sessionAt(0), null);
    assert.equal(r.sessionAt(null), null);
  } finally {
    r.close();
  }
});

test('the report takes its host, CPUs and threshold from the session its period ends in', () => {
  const r = StoreReader.open(twoSessions('report.db', true));
  try {
    const of = (since: number | null, until: number | null) => {
      const rep = buildReport(r, { since, until, top: 5 });
      return [rep.host, rep.cpus, rep.threshold];
    };
    assert.deepEqual(of(null, null), ['second', 4, 5]);
    assert.deepEqual(of(0, 30_000), ['first', 2, 3]);
    assert.deepEqual(of(0, 5_000), ['first', 2, 3], 'a period before the recording: the first session, as sessionAt says');
  } finally {
    r.close();
  }
});

test('a store with sessions but no data: report and /api/meta both name the newest session', async () => {
  const path = twoSessions('empty.db', false);
  const r = StoreReader.open(path);
  try {
    const rep = buildReport(r, { since: null, until: null, top: 5 });
    assert.deepEqual([rep.host, rep.cpus, rep.threshold], ['second', 4, 5]);
  } finally {
    r.close();
  }
  const { app } = await buildServer({ db: path, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
  try {
    const m = (await app.inject({ method: 'GET', url: '/api/meta', headers: { host: '127.0.0.1:9640' } })).json();
    assert.deepEqual([m.host, m.cpus, m.threshold, m.span], ['second', 4, 5, null]);
    assert.equal(m.version, VERSION);
  } finally {
    await app.close();
  }
});
