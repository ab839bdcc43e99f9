import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { buildReport } from '../../src/analyze/report.ts';
import { StoreReader } from '../../src/store/reader.ts';
import { StoreWriter } from '../../src/store/writer.ts';
import { SESSION, sample } from '../helpers/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-report-measured-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FLUSH = ['submit_bio_wait+0x5b/0xa0', 'blkdev_issue_flush+0x3c/0x50', 'ext4_sync_file+0x176/0x3a0'];

test('report: measured D takes the D share and R is what remains of the sampled R + D (no thread counted twice)', () => {
  const path = join(dir, 'measured.db');
  const w = StoreWriter.open(path);
  w.beginSession({ ...SESSION, source: 'bpf', scanAbove: 0, threshold: 1 });
  // A process of 6 writer threads: the passes saw 4 of them R and 2 D, the tracking measured 3.5 threads in D.
  for (let i = 0; i < 60; i++) {
    const s = sample(100_000 + i * 1000, 6, [{ pid: 9, comm: 'dwriter', r: 4, d: 2 }]);
    s.offcpu = { windowMs: 1000, entries: [{ pid: 9, comm: 'dwriter', cgroup: '/test.slice', stack: FLUSH, ms: 3500, ended: 3000 }] };
    w.insertSample(s);
  }
  w.close();
  const r = StoreReader.open(path);
  const rep = buildReport(r, { since: null, until: null, top: 10 });
  r.close();
  const mean = rep.attribution.mean!;
  assert.equal(mean.d_from, 'blocked_time');
  const p = mean.processes.find((c) => c.pid === 9)!;
  assert.ok(Math.abs(p.d - 3.5) < 1e-9, `measured D ${p.d}`);
  assert.ok(Math.abs(p.r - 2.5) < 1e-9, `R is 6 - 3.5, not the sampled 4: ${p.r}`);
  assert.ok(p.r + p.d <= 6 + 1e-9);
  assert.ok(Math.abs(mean.states.R - 2.5) < 1e-9);
  // The verdict's window (high samples) is split the same way.
  const line = rep.verdict[0]!;
  assert.equal(line.cause, 'block-io');
  assert.match(line.text, /100% of the time blocked in D \(measured\), ~3\.50 of the 3\.50 D threads on average/);
  const cpu = rep.verdict.find((l) => l.kind === 'cpu-saturation')!;
  assert.ok(Math.abs(cpu.share - 2.5) < 1e-9, `the CPU line counts the R left after the measured D, not the sampled 4: ${cpu.share}`);
  assert.equal(rep.verdict.indexOf(cpu), 1);
});
