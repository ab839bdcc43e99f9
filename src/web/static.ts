/**
 * The dashboard's files, served from disk: the page in web/ (shipped in the
 * package next to dist/), uPlot from its npm package, and the modules the
 * page shares with the CLI (escaping, the flame graph's tree and colours)
 * as tsc compiled them. Only files that exist at start
 * are routed (a fixed table, so no path from a URL ever reaches the file
 * system); each request reads the file, so an edited page needs no restart.
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance } from 'fastify';

import { serveUnbuilt } from '../errors.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** src/web/ and dist/web/ are both two levels below the package root. */
export const WEB_ROOT = join(HERE, '..', '..', 'web');

/**
 * The modules of src/format/ that the page imports, URL -> module: the page
 * and the CLI run the same code (never a copy that could drift). Each must
 * import nothing (a browser resolves no bare or node: specifier), which
 * test/unit/web-static.test.ts checks.
 */
export const SHARED_MODULES: ReadonlyMap<string, string> = new Map([
  ['/js/escape.js', 'escape'],
  ['/js/flame-tree.js', 'flame-tree'],
]);

/**
 * src/format/<name>.ts as tsc emitted it: beside this module's own compiled
 * form (dist/web/ -> dist/format/) or, when this runs from src/ under tsx,
 * the package's dist/. A checkout that was never built has neither, and the
 * page would show names unescaped: refuse to start instead.
 */
export function sharedModulePath(name: string, here = HERE): string {
  const candidates = [join(here, '..', 'format', `${name}.js`), join(here, '..', '..', 'dist', 'format', `${name}.js`)];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw serveUnbuilt(candidates[1]!);
  return found;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** URL path -> file, for every servable file under `root`, the vendored uPlot and the shared modules. */
export function staticTable(root = WEB_ROOT): Map<string, string> {
  const table = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (TYPES[extname(name)] !== undefined) table.set(`/${relative(root, p).split(sep).join('/')}`, p);
    }
  };
  walk(root);
  const index = table.get('/index.html');
  if (index) table.set('/', index);
  const require = createRequire(import.meta.url);
  table.set('/vendor/uPlot.esm.js', require.resolve('uplot/dist/uPlot.esm.js'));
  table.set('/vendor/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'));
  // Set after the walk: a file of that name in web/ cannot take its place.
  for (const [url, name] of SHARED_MODULES) table.set(url, sharedModulePath(name));
  return table;
}

export async function staticRoutes(app: FastifyInstance, opts: { root?: string }): Promise<void> {
  for (const [url, file] of staticTable(opts.root)) {
    const type = TYPES[extname(file)]!;
    app.get(url, async (_req, reply) => {
      const body = await readFile(file);
      return reply.type(type).header('cache-control', 'no-cache').send(body);
    });
  }
}
