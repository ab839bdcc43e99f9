/**
 * The page's escape function is THE escape function of every human format:
 * src/format/escape.ts as tsc compiles it, served at /js/escape.js from the
 * fixed static table (issue 11 item 1, issue 12 item 2). Runs after
 * `npm run build` (npm ci's prepare builds too), like every test that needs dist/.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';

import ts from 'typescript';

import { LoadmonError } from '../../src/errors.ts';
import { escapeText } from '../../src/format/escape.ts';
import { buildServer } from '../../src/web/server.ts';
import { ESCAPE_URL, escapeModulePath, staticTable } from '../../src/web/static.ts';
import { ROOT } from '../helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-web-static-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SOURCE = join(ROOT, 'src', 'format', 'escape.ts');
const COMPILED = join(ROOT, 'dist', 'format', 'escape.js');
const HOSTILE = ['bash\u202e', '\x1b[2J\x1b[31mPWNED\r\n', '\u009b31m\x7f\x00', 'a\\b\u2028\u2066\u200f\u061c', 'ümlaut ok'];

/** What tsc emits for the source with the project's options, without the source-map comment. */
function emitted(): string {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  // transpileModule cannot see package.json's "type": "module" that makes NodeNext emit ESM here: say it.
  const compilerOptions = { ...options, module: ts.ModuleKind.ESNext, sourceMap: false };
  const out = ts.transpileModule(readFileSync(SOURCE, 'utf8'), { compilerOptions, fileName: SOURCE });
  return out.outputText.trim();
}

const withoutMapComment = (js: string): string => js.replace(/\n\/\/# sourceMappingURL=.*$/, '').trim();

test('/js/escape.js is in the static table and is the compiled src/format/escape.ts (from src: the package dist/)', () => {
  const table = staticTable();
  assert.equal(ESCAPE_URL, '/js/escape.js');
  assert.equal(table.get(ESCAPE_URL), COMPILED);
  assert.equal(withoutMapComment(readFileSync(COMPILED, 'utf8')), emitted(), 'dist/format/escape.js is stale: npm run build');
});

test('the served module is dependency-free plain JavaScript and escapes exactly like the CLI', async () => {
  const js = readFileSync(COMPILED, 'utf8');
  // A browser resolves no bare or node: specifier: the module must import nothing.
  assert.doesNotMatch(js, /^\s*import\b|\bimport\s*\(|\brequire\s*\(/m);
  const mod = (await import(pathToFileURL(COMPILED).href)) as { escapeText: (s: string) => string };
  for (const s of HOSTILE) assert.equal(mod.escapeText(s), escapeText(s), JSON.stringify(s));
  assert.equal(mod.escapeText('bash\u202e'), 'bash\\u202e');
});

test('served over HTTP as a JavaScript module, the same bytes', async () => {
  const { app } = await buildServer({ db: join(dir, 'absent.db'), token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
  try {
    const res = await app.inject({ method: 'GET', url: ESCAPE_URL });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.body, readFileSync(COMPILED, 'utf8'));
  } finally {
    await app.close();
  }
});

test('a web/js/escape.js in the page directory cannot replace the compiled module', () => {
  const root = join(dir, 'web');
  mkdirSync(join(root, 'js'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html>');
  writeFileSync(join(root, 'js', 'escape.js'), 'export const escapeText = (s) => s;');
  assert.equal(staticTable(root).get(ESCAPE_URL), COMPILED);
});

test('without a compiled module (no build) the server refuses to start, saying what to run', () => {
  const here = join(dir, 'pkg', 'src', 'web');
  mkdirSync(here, { recursive: true });
  assert.throws(
    () => escapeModulePath(here),
    (e: unknown) => e instanceof LoadmonError && e.code === 'E_SERVE_UNBUILT' && e.exitStatus === 1 && /dist\/format\/escape\.js.*npm run build/.test(e.message),
  );
});

test('from dist/web/ the sibling dist/format/escape.js is used', () => {
  const pkg = join(dir, 'built');
  mkdirSync(join(pkg, 'dist', 'web'), { recursive: true });
  mkdirSync(join(pkg, 'dist', 'format'), { recursive: true });
  writeFileSync(join(pkg, 'dist', 'format', 'escape.js'), 'export {};');
  assert.equal(escapeModulePath(join(pkg, 'dist', 'web')), join(pkg, 'dist', 'format', 'escape.js'));
});
