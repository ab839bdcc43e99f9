import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Report } from '../../src/model/report.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { runCli } from '../helpers/cli.ts';
import { checkWellFormedXml } from '../helpers/xml.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-e2e-rec-'));
const db = join(dir, 'sub', 'dir', 'tmp.db');
after(() => rmSync(dir, { recursive: true, force: true }));

before(async () => {
  const r = await runCli(['record', '--threshold', '0', '--cooldown', '2s', '--count', '2', '--db', db, '--source', 'procfs'], {
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /capture 1 stored/);
  assert.match(r.stderr, /capture 2 stored/);
});

test('record --count 2 then report --format json shows the two captures', async () => {
  const r = await runCli(['report', '--db', db, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(rep.schema, 'loadmon.report/v1');
  assert.deepEqual(
    rep.captures.map((c) => c.id),
    [1, 2],
  );
  assert.ok(Date.parse(rep.captures[1]!.time) - Date.parse(rep.captures[0]!.time) >= 1900, 'cooldown respected');
  assert.ok(rep.load && rep.load.samples >= 2, 'timeline samples were stored');
  assert.ok(rep.verdict.length >= 1);
  assert.ok(rep.attribution.at_end);
  assert.equal(rep.threshold, 0);
});

test('report text, folded, speedscope, svg to --out, and one capture in the seed layout', async () => {
  const text = await runCli(['report', '--db', db]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^loadmon report/);
  assert.match(text.stdout, /verdict:\n {2}1\. /);
  assert.match(text.stdout, /#1 .* load1 /);

  const seed = await runCli(['report', '--db', db, '--capture', '2', '--format', 'seed']);
  assert.equal(seed.code, 0, seed.stderr);
  assert.match(seed.stdout, /^!{30}\nLoad: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d\ndump running task\.\n/);
  assert.match(seed.stdout, /\ndump uninterrupted task\.\n/);

  const json = await runCli(['report', '--db', db, '--capture', '1', '--format', 'json']);
  assert.equal((JSON.parse(json.stdout) as Snapshot).trigger?.capture_index, 1);

  const folded = await runCli(['report', '--db', db, '--format', 'folded']);
  assert.equal(folded.code, 0, folded.stderr);
  for (const line of folded.stdout.trimEnd().split('\n').filter(Boolean)) assert.match(line, /^[^;]+(;[^;]+)* \d+$/);

  const sp = await runCli(['report', '--db', db, '--format', 'speedscope']);
  const f = JSON.parse(sp.stdout) as { $schema: string; profiles: Array<{ type: string }> };
  assert.equal(f.$schema, 'https://www.speedscope.app/file-format-schema.json');
  assert.equal(f.profiles[0]!.type, 'sampled');

  const out = join(dir, 'flame.svg');
  const svg = await runCli(['report', '--db', db, '--format', 'svg', '--out', out]);
  assert.equal(svg.code, 0, svg.stderr);
  assert.equal(svg.stdout, '');
  checkWellFormedXml(readFileSync(out, 'utf8'));
});

test('report errors: no store, unknown capture, bad values — exit 2, one line naming the option', async () => {
  const cases: Array<[string[], string]> = [
    [['report', '--db', join(dir, 'nope.db')], '--db'],
    [['report', '--db', db, '--capture', '999'], '--capture'],
    [['report', '--db', db, '--format', 'seed'], '--format'],
    [['report', '--db', db, '--since', 'yesterday'], '--since'],
    [['record', '--db', db, '--retain', '7'], '--retain'],
    [['record', '--db', db, '--max-size', '1KiB'], '--max-size'],
    [['record', '--db', db, '--sample', '0s'], '--sample'],
  ];
  for (const [args, option] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(option), r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
