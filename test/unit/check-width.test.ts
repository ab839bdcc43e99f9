/**
 * The line-width check (scripts/check-width.ts, run by `npm run lint`): the
 * width in code points, and Biome's scope read from biome.json's includes.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { inScope, longLines } from '../../scripts/check-width.ts';
import { ROOT } from '../helpers/fixtures.ts';

test('check-width: lines over the width, 1-based, counted in code points', () => {
  const text = ['a'.repeat(140), 'b'.repeat(141), '←'.repeat(140), '·'.repeat(141), ''].join('\n');
  assert.deepEqual(longLines(text, 140), [
    { line: 2, width: 141 },
    { line: 4, width: 141 },
  ]);
  assert.deepEqual(longLines('', 140), []);
});

test("check-width: scope: folders and exact paths included, '!' folders excluded whatever includes them", () => {
  const includes = ['src/**', 'test/**', '!test/fixtures', 'package.json'];
  assert.equal(inScope('src/cli/main.ts', includes), true);
  assert.equal(inScope('test/unit/x.test.ts', includes), true);
  assert.equal(inScope('test/fixtures/layers/clean/base.ts', includes), false);
  assert.equal(inScope('test/fixtures-other/a.ts', includes), true, 'a sibling with the same prefix is not the excluded folder');
  assert.equal(inScope('package.json', includes), true);
  assert.equal(inScope('package-lock.json', includes), false);
  assert.equal(inScope('srcx/a.ts', includes), false);
});

test("check-width: the project's biome.json keeps real-sample fixtures out and the sources in", () => {
  const { files } = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as { files: { includes: string[] } };
  assert.equal(inScope('test/fixtures/causes/own.json', files.includes), false);
  assert.equal(inScope('test/scenarios/fixtures/mountinfo-hybrid.txt', files.includes), false);
  assert.equal(inScope('src/format/escape.ts', files.includes), true);
  assert.equal(inScope('web/js/flame.js', files.includes), true);
});
