import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { buildReport, reportCapture } from '../../src/analyze/report.ts';
import { formatReportText } from '../../src/format/report-text.ts';
import type { Trigger } from '../../src/model/snapshot.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { assertSchema } from '../helpers/json-schema.ts';
import { SESSION, sample, snapshot } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-report-captures-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LOAD: Trigger = { reason: 'load1>=threshold', threshold: 3, threshold_spec: '3', load1: 7.2, cooldown_ms: 20000, capture_index: 1 };
const PSI: Trigger = {
  reason: 'psi',
  threshold: 3,
  threshold_spec: '3',
  load1: 1.4,
  cooldown_ms: 20000,
  capture_index: 2,
  psi: { resource: 'io', kind: 'some', stall_ms: 150, window_ms: 2000 },
};

/** A store with three captures: fired by the load rule, by a PSI trigger, and one without a trigger. */
function storeWithCaptures(): string {
  const path = join(dir, 'captures.db');
  const w = StoreWriter.open(path);
  w.beginSession({ ...SESSION });
  for (let i = 0; i < 30; i++) w.insertSample(sample(100_000 + i * 1000, 4, [{ pid: 7, comm: 'busy', r: 1, d: 1 }]));
  const tasks = [{ pid: 7, state: 'D' as const, stack: ['io_schedule+0x46/0x70'], wchan: 'io_schedule' }];
  w.insertCapture({ ...snapshot(110_000, tasks), trigger: LOAD });
  w.insertCapture({ ...snapshot(120_000, tasks), trigger: PSI });
  w.insertCapture(snapshot(125_000, tasks));
  w.close();
  return path;
}

test('report: each capture says which trigger fired it, in JSON (schema-valid) and text', () => {
  const r = StoreReader.open(storeWithCaptures());
  try {
    const rep = buildReport(r, { since: null, until: null, top: 10 });
    assert.deepEqual(
      rep.captures.map((c) => c.trigger),
      [LOAD, PSI, null],
    );
    assertSchema('report.schema.json', rep, 'a report with load, PSI and no-trigger captures');
    const lines = formatReportText(rep)
      .split('\n')
      .filter((l) => /^ {2}#\d+ /.test(l));
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^ {2}#1 .* 1 D {2}load1 7\.20 >= 3 {2}\(procfs; /);
    assert.match(lines[1]!, /^ {2}#2 .* 1 D {2}PSI io some 150ms\/2s {2}\(procfs; /);
    assert.match(lines[2]!, /^ {2}#3 .* 1 D {2}\(procfs; /);
    // The API's one-capture view decodes the trigger itself when not handed it.
    assert.deepEqual(reportCapture(r, r.captureRow(2)!).trigger, PSI);
  } finally {
    r.close();
  }
});

test('report text: a threshold spec from the store cannot inject control characters', () => {
  const r = StoreReader.open(storeWithCaptures());
  try {
    const rep = buildReport(r, { since: null, until: null, top: 10 });
    rep.captures[0]!.trigger = { ...LOAD, threshold_spec: '3\u001b[2J' };
    const text = formatReportText(rep);
    assert.ok(!text.includes('\u001b'), 'no ESC in the text');
    assert.match(text, /load1 7\.20 >= 3\\x1b\[2J/);
  } finally {
    r.close();
  }
});
