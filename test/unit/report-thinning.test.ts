import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { buildReport, longestThinnedRun } from '../../src/analyze/report.ts';
import { formatReportText } from '../../src/format/report-text.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { assertSchema } from '../helpers/json-schema.ts';
import { SESSION, sample } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-report-thinning-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const BUSY = [{ pid: 7, comm: 'busy', r: 2, d: 0 }];

/**
 * A recorded store from a pattern, one letter per 1 s sample from `startMs`:
 * s scanned, t thinned by the budget, l below the scan level.
 */
function storeOf(name: string, pattern: string, startMs = 100_000): string {
  const path = join(dir, `${name}.db`);
  const w = StoreWriter.open(path);
  w.beginSession({ ...SESSION, threshold: 1, scanAbove: 0.5 });
  [...pattern].forEach((c, i) => {
    const s = sample(startMs + i * 1000, c === 'l' ? 0.2 : 3, c === 's' ? BUSY : null);
    w.insertSample(c === 't' ? { ...s, thinned: true } : s);
  });
  w.close();
  return path;
}

function report(path: string) {
  const r = StoreReader.open(path);
  try {
    return buildReport(r, { since: null, until: null, top: 10 });
  } finally {
    r.close();
  }
}

test('report: thinned samples counted, the longest run of them, in JSON and text', () => {
  // Strides 3, then 6 (5 thinned in a row), then a run cut by a sample below the scan level.
  const rep = report(storeOf('mixed', 'sttsttsttttts' + 'lltt' + 'sl'));
  assert.equal(rep.load!.samples, 19);
  assert.equal(rep.load!.scanned_samples, 5);
  assert.equal(rep.load!.thinned_samples, 11);
  assert.equal(rep.load!.thinned_longest_run, 5);
  assertSchema('report.schema.json', rep, 'a report with thinned samples');
  const text = formatReportText(rep);
  assert.match(
    text,
    new RegExp(
      'light scans thinned by --cpu-budget: 11 of 19 samples \\(up to 5 in a row: 1 scan in 6 at the worst\\);' +
        ' their R/D counts are taken from the nearest scan',
    ),
  );
});

test('report: no thinning, no line, and the fields are 0', () => {
  const rep = report(storeOf('plain', 'sssllsss'));
  assert.equal(rep.load!.thinned_samples, 0);
  assert.equal(rep.load!.thinned_longest_run, 0);
  assertSchema('report.schema.json', rep, 'a report without thinning');
  assert.doesNotMatch(formatReportText(rep), /thinned/);
});

test('longestThinnedRun: a run across the hour boundary of the chunked read counts whole, and only inside the period', () => {
  // 3,590 s scanned, then 25 thinned that straddle the first chunk's end (3,600 s), then a scan.
  const start = 0;
  const path = storeOf('long', `${'s'.repeat(3590)}${'t'.repeat(25)}s`, start);
  const r = StoreReader.open(path);
  try {
    assert.equal(longestThinnedRun(r, start, start + 3615_000), 25);
    // A period that ends inside the run sees only its part of it.
    assert.equal(longestThinnedRun(r, start, start + 3599_000), 10);
    assert.equal(longestThinnedRun(r, start + 3600_000, start + 3615_000), 15);
  } finally {
    r.close();
  }
});

test('longestThinnedRun: an hour thinned throughout is counted from its totals, and the run goes on across it', () => {
  const path = storeOf('hours', `s${'t'.repeat(7300)}s${'t'.repeat(3)}`, 0);
  const r = StoreReader.open(path);
  try {
    assert.equal(longestThinnedRun(r, 0, 7304_000), 7300);
    // A scan ends the run: the period from it on sees only the 3 after it.
    assert.equal(longestThinnedRun(r, 7301_000, 7304_000), 3);
  } finally {
    r.close();
  }
});
