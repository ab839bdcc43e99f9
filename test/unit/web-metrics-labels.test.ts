/**
 * Cgroup names are chosen by whoever can create a cgroup (a delegated
 * subtree is enough) and end up as /metrics label values. The exposition
 * must stay parseable line by line whatever they hold, and each value must
 * read back as the name the store holds.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { StoreReader } from '../../src/store/reader.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { buildServer } from '../../src/web/server.ts';
import { SESSION, sample } from '../helpers/store.ts';
import { parsePrometheus } from '../helpers/web.ts';

const HOSTILE = [
  '/quote"} 1\nfake_metric{x="',
  '/new\nline',
  '/back\\slash\\n',
  '/cr\rreturn',
  '/esc\u001b[2J\u001b[31mPWNED',
  '/nul\u0000byte',
  '/bidi\u202Eevil\u2066',
  '/invalid-utf8-decoded-\uFFFD',
  '/lone-surrogate-\uD800',
  '/# HELP loadmon_load1 fake',
];

const dir = mkdtempSync(join(tmpdir(), 'loadmon-web-metrics-labels-'));
const db = join(dir, 'm.db');
let app: FastifyInstance | null = null;
after(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The Prometheus text format's escapes, undone (\\, \" and \n only). */
function unescapeLabel(v: string): string {
  return v.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

test('metrics: hostile cgroup names keep the exposition valid and read back as stored', async () => {
  const t = Date.UTC(2026, 10, 27, 14);
  const w = StoreWriter.open(db, t - 60_000);
  w.beginSession({ ...SESSION, startedMs: t - 60_000 });
  const procs = HOSTILE.map((cgroup, k) => ({ pid: 3000 + k, comm: `evil\n"${k}`, r: 1, d: 1, cgroup }));
  w.insertSample(sample(t, 5, procs));
  w.close();
  // What the store gives back (SQLite stores UTF-8: a lone surrogate comes back as U+FFFD).
  const reader = StoreReader.open(db);
  const stored = new Set(reader.cgroupCountsAt(t).map((c) => c.cgroup));
  reader.close();
  assert.equal(stored.size, HOSTILE.length);

  ({ app } = await buildServer({ db, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} }));
  const r = await app.inject({ url: '/metrics', headers: { host: 'localhost' } });
  assert.equal(r.statusCode, 200);
  // Prometheus refuses a scrape with invalid UTF-8 in a label value.
  assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(r.rawPayload), 'the body is valid UTF-8');
  const families = parsePrometheus(r.body);
  assert.ok(!families.has('fake_metric'), 'no injected family');
  assert.equal(families.get('loadmon_load1')!.help, 'The 1-minute load average (/proc/loadavg) in the newest sample');
  for (const name of ['loadmon_cgroup_runnable_threads', 'loadmon_cgroup_uninterruptible_threads']) {
    const seen = families
      .get(name)!
      .samples.map((s) => unescapeLabel(s.labels.cgroup!))
      .filter((c) => c !== 'other');
    assert.deepEqual(new Set(seen), stored, name);
    for (const s of families.get(name)!.samples) if (s.labels.cgroup !== 'other') assert.equal(s.value, 1, s.labels.cgroup);
  }
});
