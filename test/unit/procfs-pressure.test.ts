import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parsePressure } from '../../src/procfs/pressure.ts';
import { fixture } from '../helpers/fixtures.ts';

test('pressure: some and full lines of a real io file', () => {
  const p = parsePressure(fixture('pressure', 'io.txt'));
  assert.ok(p.some && p.full);
  assert.equal(p.some.avg10, 0.08);
  assert.equal(p.some.avg60, 0.06);
  assert.equal(p.some.avg300, 0.03);
  assert.equal(p.some.totalUs, 5073794);
  assert.equal(p.full.avg10, 0.04);
  assert.equal(p.full.totalUs, 4287993);
});

test('pressure: cpu with a busy some line and an all-zero full line', () => {
  const p = parsePressure(fixture('pressure', 'cpu.txt'));
  assert.equal(p.some?.avg10, 33.61);
  assert.equal(p.some?.totalUs, 328641580);
  assert.deepEqual(p.full, { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 });
});

test('pressure: cpu before 5.13 has no full line', () => {
  const p = parsePressure(fixture('pressure', 'cpu-some-only.txt'));
  assert.equal(p.some?.avg10, 1.5);
  assert.equal(p.some?.totalUs, 123456);
  assert.equal(p.full, null);
});

test('pressure: malformed values are rejected, not read as zero', () => {
  const p = parsePressure(fixture('pressure', 'garbage.txt'));
  assert.equal(p.some, null);
  assert.equal(p.full, null);
  assert.deepEqual(parsePressure(''), { some: null, full: null });
});
