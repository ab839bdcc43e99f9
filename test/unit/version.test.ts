/** The version has one home, package.json (src/version.ts reads it; issue 12 item 2). */

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { EXPORTER, readVersion, VERSION } from '../../src/version.ts';
import { ROOT } from '../helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-version-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("VERSION is package.json's version, and the exporter name carries it", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
  assert.equal(EXPORTER, `loadmon ${pkg.version}`);
});

test('readVersion reads the root it is given and refuses a package.json without a version', () => {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '9.8.7' }));
  assert.equal(readVersion(dir), '9.8.7');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x' }));
  assert.throws(() => readVersion(dir), /has no "version"/);
});

test('no source file writes the version out again', () => {
  const literal = new RegExp(`['"\`]${VERSION.replace(/\./g, '\\.')}['"\`]|loadmon ${VERSION.replace(/\./g, '\\.')}`);
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js)$/.test(name) && literal.test(readFileSync(p, 'utf8'))) hits.push(p);
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'web'));
  assert.deepEqual(hits, []);
});
