/**
 * contrib/prometheus/loadmon.rules.yml: promtool checks the rules and runs
 * their unit tests (contrib/prometheus/loadmon.rules.test.yml), and the
 * rules use only series that loadmon's /metrics exports.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { buildServer } from '../../src/web/server.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { parsePrometheus, writeFixtureStore } from '../helpers/web.ts';

const DIR = join(ROOT, 'contrib', 'prometheus');
const RULES = join(DIR, 'loadmon.rules.yml');
const TESTS = join(DIR, 'loadmon.rules.test.yml');
const NO_PROMTOOL = 'promtool is not installed (Debian package prometheus; scripts/install-test-deps.sh installs it)';

function promtool(args: string[]): { status: number | null; out: string } | null {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  assert.equal(r.error, undefined);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('prom-rules: promtool check rules accepts the rules file', (t) => {
  const r = promtool(['check', 'rules', RULES]);
  if (!r) return t.skip(NO_PROMTOOL);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS: \d+ rules found/);
});

test('prom-rules: promtool test rules passes the rules unit tests', (t) => {
  const r = promtool(['test', 'rules', TESTS]);
  if (!r) return t.skip(NO_PROMTOOL);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('prom-rules: the rule tests can fail: a wrong leading cause is caught', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-prom-rules-'));
  try {
    cpSync(RULES, join(dir, 'loadmon.rules.yml'));
    const text = readFileSync(TESTS, 'utf8');
    const wrong = text.replace("leading_cause: 'vfork (3.0 threads)'", "leading_cause: 'lock (3.0 threads)'");
    assert.notEqual(wrong, text);
    writeFileSync(join(dir, 'wrong.test.yml'), wrong);
    const r = promtool(['test', 'rules', join(dir, 'wrong.test.yml')]);
    if (!r) return t.skip(NO_PROMTOOL);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /LoadmonHighLoadPerCPU/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prom-rules: every loadmon series the rules read is exported by a live /metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-prom-rules-'));
  try {
    const db = join(dir, 'm.db');
    writeFixtureStore(db);
    const { app } = await buildServer({ db, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
    const body = (await app.inject({ url: '/metrics', headers: { host: 'localhost' } })).body;
    await app.close();
    const exported = new Set(parsePrometheus(body).keys());
    const used = new Set([...readFileSync(RULES, 'utf8').matchAll(/(?<![:\w])(loadmon_[a-z0-9_]+)/g)].map((m) => m[1]!));
    used.delete('loadmon_url'); // a target label, not a series
    assert.ok(used.size >= 5, [...used].join(' '));
    for (const name of used) assert.ok(exported.has(name), `${name} is not exported by /metrics`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
