import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LoadmonError } from '../../src/errors.ts';
import { MAX_PSI_TRIGGERS, parsePsiDuration, parseTriggerSpec, parseTriggerSpecs } from '../../src/trigger/psi-spec.ts';

function refusal(raw: string): string {
  try {
    parseTriggerSpec(raw);
  } catch (err) {
    assert.ok(err instanceof LoadmonError);
    assert.equal(err.code, 'E_INVALID_OPTION');
    assert.equal(err.exitStatus, 2);
    assert.equal(err.fields.option, '--trigger');
    return err.message;
  }
  assert.fail(`${raw} was accepted`);
}

test('psi spec: the three resources, some and full, stall and window in the kernel unit (us)', () => {
  assert.deepEqual(parseTriggerSpec('psi:io:some:150ms/1s'), {
    resource: 'io',
    kind: 'some',
    stallUs: 150_000,
    windowUs: 1_000_000,
    text: 'psi:io:some:150ms/1s',
  });
  assert.deepEqual(parseTriggerSpec(' PSI:Memory:FULL:0.5s/2s '), {
    resource: 'memory',
    kind: 'full',
    stallUs: 500_000,
    windowUs: 2_000_000,
    text: 'psi:memory:full:0.5s/2s',
  });
  const cpu = parseTriggerSpec('psi:cpu:some:100000us/500ms');
  assert.equal(cpu?.stallUs, 100_000);
  assert.equal(cpu?.windowUs, 500_000);
  // The limits themselves are allowed: window 500ms and 10s, stall equal to the window.
  assert.equal(parseTriggerSpec('psi:io:full:10s/10s')?.windowUs, 10_000_000);
  assert.equal(parseTriggerSpec('psi:io:some:1us/500ms')?.stallUs, 1);
});

test('psi spec: load is the load rule (always on), not a PSI trigger', () => {
  assert.equal(parseTriggerSpec('load'), null);
  assert.deepEqual(parseTriggerSpecs(['load']), []);
});

test('psi spec: every refusal names --trigger and says what is wrong', () => {
  assert.match(refusal('psi:disk:some:150ms/1s'), /unknown resource 'disk': use cpu, io or memory/);
  assert.match(refusal('psi:io:most:150ms/1s'), /unknown kind 'most': use some or full/);
  assert.match(refusal('psi:cpu:full:150ms/1s'), /cpu full is always 0 system-wide/);
  assert.match(refusal('psi:io:some:150ms/400ms'), /between 500ms and 10s/);
  assert.match(refusal('psi:io:some:150ms/11s'), /between 500ms and 10s/);
  assert.match(refusal('psi:io:some:2s/1s'), /must not exceed the window/);
  assert.match(refusal('psi:io:some:0ms/1s'), /greater than zero/);
  for (const bad of [
    'psi:io:some:150/1s',
    'psi:io:some:150ms',
    'psi:io:some:150ms/1s/2s',
    'psi:io:some:1m/1s',
    'psi:io:some:-1ms/1s',
    'psi:io:some:0.1us/1s',
  ]) {
    assert.match(refusal(bad), /<stall>\/<window> as durations/, bad);
  }
  for (const bad of ['', 'psi', 'psi:io:some', 'io:some:150ms/1s', 'loadavg', 'psi:io:some:150ms/1s:x']) {
    assert.match(refusal(bad), /expected load or psi:<cpu\|io\|memory>:<some\|full>:<stall>\/<window>/, bad);
  }
});

test('psi spec: repeated option, duplicates and the cap', () => {
  const specs = parseTriggerSpecs(['psi:io:some:150ms/1s', 'load', 'psi:cpu:some:100ms/2s']);
  assert.deepEqual(
    specs.map((s) => s.text),
    ['psi:io:some:150ms/1s', 'psi:cpu:some:100ms/2s'],
  );
  assert.throws(() => parseTriggerSpecs(['psi:io:some:150ms/1s', 'psi:io:some:150000us/1000ms']), /given twice/);
  const many = Array.from({ length: MAX_PSI_TRIGGERS + 1 }, (_, i) => `psi:io:some:${i + 1}ms/1s`);
  assert.throws(() => parseTriggerSpecs(many), /at most 8 PSI triggers/);
  assert.equal(parseTriggerSpecs(many.slice(0, MAX_PSI_TRIGGERS)).length, MAX_PSI_TRIGGERS);
});

test('psi duration: units us, ms, s; whole microseconds only', () => {
  assert.equal(parsePsiDuration('1s'), 1_000_000);
  assert.equal(parsePsiDuration('1.5ms'), 1500);
  assert.equal(parsePsiDuration('.5s'), 500_000);
  assert.equal(parsePsiDuration('7us'), 7);
  assert.equal(parsePsiDuration('1.5us'), null);
  assert.equal(parsePsiDuration('1'), null);
  assert.equal(parsePsiDuration('1 s'), null);
  assert.equal(parsePsiDuration('1h'), null);
});
