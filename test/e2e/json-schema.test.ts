/**
 * Every public JSON document, as the built CLI and server really write it,
 * validates against its published schema (docs/schema/) and has only
 * snake_case keys: snapshots from each source that works here, watch's
 * NDJSON, reports and stored captures of stores made by real `record` runs
 * (procfs, and bpf as root: blocked time, chains, evidence), every API
 * response over the fixture store, and `kmod status --json`.
 */

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { bpfUnavailable } from '../../src/bpf/availability.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { assertSchema, nonSnakeKeys } from '../helpers/json-schema.ts';
import { scratch, startServe } from '../helpers/processes.ts';
import { writeFixtureStore } from '../helpers/web.ts';

const { dir, children } = scratch('loadmon-e2e-schema-');
const ROOT_USER = process.geteuid?.() === 0;

/** Validates a real output and checks its keys; `what` names it in a failure. */
function check(schema: string, doc: unknown, what: string): void {
  assertSchema(schema, doc, what);
  assert.deepEqual(nonSnakeKeys(doc), [], `${what}: keys that are not snake_case`);
}

async function cliJson(args: string[], timeoutMs = 60_000): Promise<unknown> {
  const r = await runCli(args, { timeoutMs });
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

test('snapshot --json from procfs, and from the module fixture (kmod)', async () => {
  check('snapshot.schema.json', await cliJson(['snapshot', '--json', '--source', 'procfs']), 'procfs snapshot');
  const kmod = await cliJson(['snapshot', '--json', '--source', 'kmod', '--proc-root', join(FIXTURES, 'kmod-root')]);
  check('snapshot.schema.json', kmod, 'kmod snapshot');
  assert.equal((kmod as { source: string }).source, 'kmod');
});

test('snapshot --json --source bpf with a profile window (user stacks, samples)', {
  skip: ROOT_USER ? false : 'the eBPF collector needs root',
}, async () => {
  assert.equal(bpfUnavailable(), null, 'the eBPF collector must work here as root (helper built by npm run build)');
  const snap = await cliJson(['snapshot', '--json', '--source', 'bpf', '--profile', '500ms']);
  check('snapshot.schema.json', snap, 'bpf snapshot');
  assert.equal((snap as { capture: { profile_ms?: number } }).capture.profile_ms, 500);
});

test('watch --json: every NDJSON line is a snapshot with its trigger', async () => {
  const r = await runCli(['watch', '--json', '--quiet', '--source', 'procfs', '--threshold', '0', '--cooldown', '0ms', '--count', '2'], {
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  for (const [i, line] of lines.entries()) {
    const snap = JSON.parse(line) as { trigger: { capture_index: number } | null };
    check('snapshot.schema.json', snap, `watch line ${i + 1}`);
    assert.equal(snap.trigger?.capture_index, i + 1);
  }
});

test('kmod status --json', async () => {
  check('kmod-status.schema.json', await cliJson(['kmod', 'status', '--json']), 'kmod status');
});

test('doctor --json', async () => {
  check('doctor.schema.json', await cliJson(['doctor', '--json']), 'doctor');
});

/** A store from a real `record` run; returns its path. */
async function recordStore(source: 'procfs' | 'bpf', count: number): Promise<string> {
  const db = join(dir, `${source}.db`);
  const r = await runCli(['record', '--threshold', '0', '--cooldown', '2s', '--count', String(count), '--db', db, '--source', source], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return db;
}

async function checkStore(db: string, captures: number, what: string): Promise<Record<string, unknown>> {
  const report = (await cliJson(['report', '--db', db, '--format', 'json'])) as Record<string, unknown>;
  check('report.schema.json', report, `${what} report`);
  for (let id = 1; id <= captures; id++) {
    check(
      'snapshot.schema.json',
      await cliJson(['report', '--db', db, '--capture', String(id), '--format', 'json']),
      `${what} capture ${id}`,
    );
  }
  return report;
}

test('report --format json and report --capture N --format json of a store recorded with procfs', async () => {
  const report = await checkStore(await recordStore('procfs', 2), 2, 'procfs');
  assert.ok((report.attribution as { at_end: unknown }).at_end, 'the replay ran');
});

test('the same for a store recorded with --source bpf: blocked time, chains, evidence, blocked_recent', {
  skip: ROOT_USER ? false : 'the eBPF collector needs root',
}, async () => {
  const db = await recordStore('bpf', 3);
  const report = await checkStore(db, 3, 'bpf');
  assert.ok(report.blocked, 'measured blocked time is in the report');
  const third = (await cliJson(['report', '--db', db, '--capture', '3', '--format', 'json'])) as {
    blocked_recent?: unknown;
    evidence?: unknown;
  };
  assert.ok(third.blocked_recent && third.evidence, 'the third capture carries blocked_recent and evidence');
});

async function getJson(url: string, status = 200): Promise<unknown> {
  const res = await fetch(url);
  assert.equal(res.status, status, `${url}: ${res.status}`);
  return (await res.json()) as unknown;
}

test('every API response over the fixture store, downloads in JSON, and errors', async () => {
  const db = join(dir, 'web.db');
  const { captureIds } = writeFixtureStore(db);
  const base = `${(await startServe(['--db', db, '--listen', '127.0.0.1:0'], { children })).url}api/`;
  check('api-meta.schema.json', await getJson(`${base}meta`), '/api/meta');
  const timeline = (await getJson(`${base}timeline?points=300`)) as { columns: Record<string, unknown[]> };
  check('api-timeline.schema.json', timeline, '/api/timeline');
  const lengths = new Set(Object.values(timeline.columns).map((c) => c.length));
  assert.equal(lengths.size, 1, 'columns of equal length');
  check('api-captures.schema.json', await getJson(`${base}captures`), '/api/captures');
  for (const id of captureIds) {
    check('api-capture.schema.json', await getJson(`${base}captures/${id}`), `/api/captures/${id}`);
    check('api-flame.schema.json', await getJson(`${base}captures/${id}/flame`), `/api/captures/${id}/flame`);
    check('snapshot.schema.json', await getJson(`${base}captures/${id}/export/json`), `/api/captures/${id}/export/json`);
  }
  check('api-flame.schema.json', await getJson(`${base}flame`), '/api/flame');
  check('report.schema.json', await getJson(`${base}report`), '/api/report');
  check('report.schema.json', await getJson(`${base}export/json`), '/api/export/json');
  const errors: Array<[string, number]> = [
    [`${base}captures/999999`, 404],
    [`${base}captures/abc`, 400],
    [`${base}timeline?points=1`, 400],
    [`${base}nope`, 404],
  ];
  for (const [url, status] of errors) check('api-error.schema.json', await getJson(url, status), url);
});
