/**
 * The layering check (scripts/check-layers.ts, run by `npm test`) on small
 * trees under test/fixtures/layers/ (rules.json there: cli > service, web >
 * core > base.ts): what it must catch, what it must let through, and that
 * loadmon's own src/ follows .layers.json.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { checkLayers, checkRulesFile, importsOf, type LayerRules, type Problem } from '../../scripts/check-layers.ts';
import { FIXTURES, ROOT } from '../helpers/fixtures.ts';

const DIR = join(FIXTURES, 'layers');
const RULES = JSON.parse(readFileSync(join(DIR, 'rules.json'), 'utf8')) as LayerRules;

function check(tree: string): Problem[] {
  return checkLayers(join(DIR, tree), RULES);
}

test('a clean tree passes: imports down, sideways within one folder, type imports, re-exports, import()', () => {
  assert.deepEqual(check('clean'), []);
});

test('an upward import and an import of the top layer are caught, naming the file and the import', () => {
  assert.deepEqual(
    check('upward').map((p) => [p.file, p.import]),
    [
      ['core/a.ts', '../service/run.ts'],
      ['service/run.ts', '../cli/main.ts'],
    ],
  );
  const [typeImport, ofCli] = check('upward');
  assert.match(typeImport!.message, /upward import: core \(layer 3\) imports service \(layer 2\)/);
  assert.match(ofCli!.message, /imports cli, the top layer/);
});

test('a cycle is caught even between files of one folder, with the loop spelled out', () => {
  const problems = check('cycle');
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.message, 'import cycle');
  assert.equal(problems[0]!.import, 'core/a.ts -> core/b.ts -> core/a.ts');
});

test('a sideways import between two folders of one layer is caught', () => {
  const problems = check('sideways');
  assert.deepEqual(
    problems.map((p) => [p.file, p.import]),
    [['web/server.ts', '../service/run.ts']],
  );
  assert.match(problems[0]!.message, /sideways import between web and service/);
});

test('a folder in no layer, and an import that names no file, are problems too', () => {
  const root = mkdtempSync(join(tmpdir(), 'loadmon-layers-'));
  try {
    mkdirSync(join(root, 'core'));
    mkdirSync(join(root, 'stray'));
    writeFileSync(join(root, 'core', 'a.ts'), "import { gone } from './gone.ts';\nexport const a = gone;\n");
    writeFileSync(join(root, 'stray', 'x.ts'), 'export const x = 1;\n');
    const problems = checkLayers(root, RULES).map((p) => `${p.file} ${p.import} ${p.message}`);
    assert.deepEqual(problems, ['core/a.ts ./gone.ts names no file', 'stray/x.ts  stray is in no layer (add it to the rules)']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('imports are read like TypeScript reads them; packages and built-ins are not checked', () => {
  const text = [
    "import type { A } from './a.ts';",
    "export { b } from '../b.ts';",
    "import fs from 'node:fs';",
    "import ts from 'typescript';",
    "const c = await import('./c.ts');",
    "// import { d } from './d.ts';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.ts', '../b.ts', './c.ts']);
});

test("loadmon's src/ follows .layers.json", () => {
  const { problems } = checkRulesFile(join(ROOT, '.layers.json'));
  assert.deepEqual(problems, []);
});
