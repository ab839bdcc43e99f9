/**
 * `record --cpu-budget` with a real thread population: 3,000 sleeping threads
 * make a procfs light scan cost several ms of CPU, a budget of 0.2% of a core
 * (2 ms per 1 s sample) must thin it, and the thinned timeline must still show
 * the process that holds a thread in D. `--cpu-budget off` next to it, on the
 * same machine at the same time, scans every sample.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';

import Database from 'better-sqlite3';

import { StoreReader } from '../../src/store/reader.ts';
import { runCli } from '../helpers/cli.ts';
import { scratch, startRecord, until } from '../helpers/processes.ts';
import { newWorkload } from '../helpers/workload.ts';

const { dir, children } = scratch('loadmon-budget-');
const work = newWorkload();
after(() => work.stop());

function byState(db: string): Map<number, number> {
  if (!existsSync(db)) return new Map();
  const d = new Database(db, { readonly: true });
  try {
    // The file exists a moment before the recorder has created its tables.
    if (!d.prepare("SELECT 1 FROM sqlite_master WHERE name = 'samples'").get()) return new Map();
    const rows = d.prepare('SELECT scanned, COUNT(*) AS n FROM samples GROUP BY scanned').all() as Array<{ scanned: number; n: number }>;
    return new Map(rows.map((r) => [r.scanned, r.n]));
  } finally {
    d.close();
  }
}

test('a small budget thins the light scans; the timeline and the report still see the D process', { timeout: 120_000 }, async () => {
  for (let i = 0; i < 3; i++) await work.threads(1000, 90);
  const blocked = await work.vfork(90, 'budgetvfork');
  const thin = join(dir, 'thin.db');
  const full = join(dir, 'full.db');
  // Scan level 0.01: the scans are due at every sample; one capture at start, then the cooldown.
  const common = ['--threshold', '0.02', '--cooldown', '1h'];
  const a = startRecord(children, thin, ...common, '--cpu-budget', '0.2');
  const b = startRecord(children, full, ...common, '--cpu-budget', 'off');
  // The first due sample always scans (nothing measured yet); from then on the stride depends on
  // how many threads the machine has, so only a few thinned samples are waited for.
  await until('thinned samples', () => (byState(thin).get(2) ?? 0) >= 5 && (byState(thin).get(1) ?? 0) >= 1, 60_000);
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.equal(await a.exited, 0, a.stderr());
  assert.equal(await b.exited, 0, b.stderr());

  const stride = /thins light scans to 1 in (\d+)/.exec(a.stderr());
  assert.ok(stride && Number(stride[1]) > 1, a.stderr());
  assert.match(
    a.stderr(),
    /a light scan of \d+ threads costs [\d.]+ ms of CPU here \([\d.]+% of a core at every sample\) and the rest of record [\d.]+%;/,
  );
  assert.equal(byState(full).get(2) ?? 0, 0, 'no budget: nothing thinned');
  assert.doesNotMatch(b.stderr(), /thins light scans/);

  const r = StoreReader.open(thin);
  try {
    const samples = r.samples(0, 8.64e15);
    const pids = new Set(r.procPoints(0, 8.64e15).map((p) => p.pid));
    assert.ok(pids.has(blocked.pid), 'the vfork-blocked parent is in the thinned timeline');
    const curve = r.loadCurve(0, 8.64e15)!;
    assert.equal(curve.thinned, samples.filter((s) => s.thinned).length);
    assert.ok(curve.thinned > 0 && curve.scanned > 0);
    const procTimes = new Set(r.procPoints(0, 8.64e15).map((p) => p.t));
    for (const s of samples) if (s.thinned) assert.ok(!procTimes.has(s.t), 'a thinned sample has no per-process rows');
  } finally {
    r.close();
  }
  const rep = await runCli(['report', '--db', thin, '--format', 'json']);
  assert.equal(rep.code, 0, rep.stderr);
  const report = JSON.parse(rep.stdout);
  // The report accounts for the thinning: every thinned sample in the store, and a run of them.
  assert.equal(report.load.thinned_samples, byState(thin).get(2));
  assert.ok(report.load.thinned_longest_run >= 1 && report.load.thinned_longest_run <= report.load.thinned_samples);
  const text = await runCli(['report', '--db', thin]);
  assert.match(text.stdout, /light scans thinned by --cpu-budget: \d+ of \d+ samples \(up to \d+ in a row: 1 scan in \d+ at the worst\)/);
  const atEnd = report.attribution.at_end;
  // Every sample was due a scan: the replay borrows counts across thinned samples, none is estimated.
  assert.equal(atEnd.not_scanned, 0);
  assert.ok(
    atEnd.processes.some((p: { pid: number }) => p.pid === blocked.pid),
    'the D process carries load in the replay',
  );
});
