import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseAge, parseSize, parseTimePoint } from '../../src/cli/parse-store-values.ts';
import { parseRecord, parseReport } from '../../src/cli/store-options.ts';
import { LoadmonError } from '../../src/errors.ts';

const invalid = (option: string) => (e: unknown) => e instanceof LoadmonError && e.exitStatus === 2 && e.message.includes(option);

test('ages: s m h d w, a unit required, positive', () => {
  assert.equal(parseAge('--retain', '7d'), 7 * 86_400_000);
  assert.equal(parseAge('--retain', '12h'), 12 * 3_600_000);
  assert.equal(parseAge('--retain', '1.5w'), 1.5 * 604_800_000);
  for (const bad of ['7', '-1d', '0d', '7y', 'soon', '']) assert.throws(() => parseAge('--retain', bad), invalid('--retain'), bad);
});

test('sizes: binary and decimal units, a floor', () => {
  assert.equal(parseSize('--max-size', '256MiB', 1), 256 * 1024 * 1024);
  assert.equal(parseSize('--max-size', '1GB', 1), 1e9);
  assert.equal(parseSize('--max-size', '512k', 1), 512 * 1024);
  assert.equal(parseSize('--max-size', '70000', 1), 70000);
  for (const bad of ['-5MiB', '10XB', 'big']) assert.throws(() => parseSize('--max-size', bad, 1), invalid('--max-size'), bad);
  assert.throws(() => parseSize('--max-size', '1KiB', 65536), invalid('--max-size'));
});

test('time points: a duration before now or an ISO date (UTC without a zone)', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  assert.equal(parseTimePoint('--since', '1h', now), now - 3_600_000);
  assert.equal(parseTimePoint('--since', '2026-11-27T10:00:00Z', now), Date.parse('2026-11-27T10:00:00Z'));
  assert.equal(parseTimePoint('--since', '2026-11-27 10:00', now), Date.parse('2026-11-27T10:00:00Z'));
  assert.equal(parseTimePoint('--since', '2026-11-27', now), Date.parse('2026-11-27T00:00:00Z'));
  assert.equal(parseTimePoint('--until', '2026-11-27T10:00:00+02:00', now), Date.parse('2026-11-27T08:00:00Z'));
  for (const bad of ['yesterday', '2026-13-45', '1', '-1h'])
    assert.throws(() => parseTimePoint('--since', bad, now), invalid('--since'), bad);
});

test('record and report options: defaults and cross-checks', () => {
  const r = parseRecord({});
  assert.equal(r.db, '/var/lib/loadmon/loadmon.db');
  assert.equal(r.sampleMs, 1000);
  assert.equal(r.retainMs, 7 * 86_400_000);
  assert.equal(r.maxBytes, 256 * 1024 * 1024);
  assert.throws(() => parseRecord({ sample: '10ms' }), invalid('--sample'));
  assert.throws(() => parseReport({ format: 'seed' }), invalid('--format'));
  assert.throws(() => parseReport({ format: 'png' }), invalid('--format'));
  assert.throws(() => parseReport({ capture: 'x' }), invalid('--capture'));
  assert.throws(() => parseReport({ since: '1h', until: '2h' }), invalid('--until'));
  assert.equal(parseReport({ capture: '3', format: 'seed' }).capture, 3);
});
