/**
 * The page runs the CLI's own code for what both do: src/format/escape.ts
 * (THE escape function of every human format) and src/format/flame-tree.ts
 * (the flame graph's tree, layout and colours), as tsc compiles them, served
 * at /js/escape.js and /js/flame-tree.js from the fixed static table (issue
 * 11 item 1, issue 12 item 2). Runs after `npm run build` (npm ci's prepare
 * builds too), like every test that needs dist/.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import ts from 'typescript';

import { LoadmonError } from '../../src/errors.ts';
import { escapeText } from '../../src/format/escape.ts';
import { buildFlameTree, type FlameNode, frameColour } from '../../src/format/flame-tree.ts';
import { SHARED_MODULES, sharedModulePath, staticTable } from '../../src/web/static.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { loopbackServer } from '../helpers/web.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-web-static-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const source = (name: string): string => join(ROOT, 'src', 'format', `${name}.ts`);
const compiled = (name: string): string => join(ROOT, 'dist', 'format', `${name}.js`);
const HOSTILE = ['bash\u202e', '\x1b[2J\x1b[31mPWNED\r\n', '\u009b31m\x7f\x00', 'a\\b\u2028\u2066\u200f\u061c', 'ümlaut ok'];

/** What tsc emits for the source with the project's options, without the source-map comment. */
function emitted(name: string): string {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  // transpileModule cannot see package.json's "type": "module" that makes NodeNext emit ESM here: say it.
  const compilerOptions = { ...options, module: ts.ModuleKind.ESNext, sourceMap: false };
  const out = ts.transpileModule(readFileSync(source(name), 'utf8'), { compilerOptions, fileName: source(name) });
  return out.outputText.trim();
}

const withoutMapComment = (js: string): string => js.replace(/\n\/\/# sourceMappingURL=.*$/, '').trim();

test('the shared modules: /js/escape.js and /js/flame-tree.js, nothing else', () => {
  assert.deepEqual(
    [...SHARED_MODULES],
    [
      ['/js/escape.js', 'escape'],
      ['/js/flame-tree.js', 'flame-tree'],
    ],
  );
});

for (const [url, name] of SHARED_MODULES) {
  test(`${url} is in the static table and is the compiled src/format/${name}.ts (from src: the package dist/)`, () => {
    assert.equal(staticTable().get(url), compiled(name));
    assert.equal(withoutMapComment(readFileSync(compiled(name), 'utf8')), emitted(name), `dist/format/${name}.js is stale: npm run build`);
  });

  test(`${url} is dependency-free plain JavaScript`, () => {
    // A browser resolves no bare or node: specifier: the module must import nothing.
    assert.doesNotMatch(readFileSync(compiled(name), 'utf8'), /^\s*import\b|\bimport\s*\(|\brequire\s*\(/m);
  });

  test(`${url} is served over HTTP as a JavaScript module, the same bytes`, async () => {
    const app = await loopbackServer(join(dir, 'absent.db'));
    try {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(res.body, readFileSync(compiled(name), 'utf8'));
    } finally {
      await app.close();
    }
  });

  test(`a web/js file named like ${url} cannot replace the compiled module`, () => {
    const root = join(dir, `web-${name}`);
    mkdirSync(join(root, 'js'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html>');
    writeFileSync(join(root, url), 'export {};');
    assert.equal(staticTable(root).get(url), compiled(name));
  });
}

test('the served escape module escapes exactly like the CLI', async () => {
  const mod = (await import(pathToFileURL(compiled('escape')).href)) as { escapeText: (s: string) => string };
  for (const s of HOSTILE) assert.equal(mod.escapeText(s), escapeText(s), JSON.stringify(s));
  assert.equal(mod.escapeText('bash\u202e'), 'bash\\u202e');
});

/** A tree as [name, value, start, level, colour] rows, depth first. */
function rows(n: FlameNode, colour: (name: string, level: number) => string): Array<[string, number, number, number, string]> {
  return [[n.name, n.value, n.start, n.level, colour(n.name, n.level)], ...n.children.flatMap((c) => rows(c, colour))];
}

test('the served flame-tree module builds the tree and colours of the SVG renderer', async () => {
  const mod = (await import(pathToFileURL(compiled('flame-tree')).href)) as {
    buildFlameTree: typeof buildFlameTree;
    frameColour: typeof frameColour;
  };
  const stacks = [
    { frames: ['dd', 'entry_SYSCALL_64', 'vfs_write', 'io_schedule'], count: 3 },
    { frames: ['busy', '[R: no kernel stack]'], count: 2 },
    { frames: ['node', 'main_[u]', 'uv_run_[u]'], count: 1 },
  ];
  const here = buildFlameTree(stacks);
  const served = mod.buildFlameTree(stacks);
  assert.equal(served.depth, here.depth);
  assert.deepEqual(rows(served.root, mod.frameColour), rows(here.root, frameColour));
});

test('without a compiled module (no build) the server refuses to start, saying what to run', () => {
  const here = join(dir, 'pkg', 'src', 'web');
  mkdirSync(here, { recursive: true });
  for (const name of SHARED_MODULES.values()) {
    assert.throws(
      () => sharedModulePath(name, here),
      (e: unknown) =>
        e instanceof LoadmonError &&
        e.code === 'E_SERVE_UNBUILT' &&
        e.exitStatus === 1 &&
        new RegExp(`dist/format/${name}\\.js.*npm run build`).test(e.message),
    );
  }
});

test('from dist/web/ the sibling dist/format/<module>.js is used', () => {
  const pkg = join(dir, 'built');
  mkdirSync(join(pkg, 'dist', 'web'), { recursive: true });
  mkdirSync(join(pkg, 'dist', 'format'), { recursive: true });
  for (const name of SHARED_MODULES.values()) {
    writeFileSync(join(pkg, 'dist', 'format', `${name}.js`), 'export {};');
    assert.equal(sharedModulePath(name, join(pkg, 'dist', 'web')), join(pkg, 'dist', 'format', `${name}.js`));
  }
});
