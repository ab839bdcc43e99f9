/**
 * The dashboard's files, served from disk: the page in web/ (shipped in the
 * package next to dist/) and uPlot from its npm package. Only files that
 * exist at start are routed (a fixed table, so no path from a URL ever
 * reaches the file system); each request reads the file, so an edited page
 * needs no restart.
 */

import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance } from 'fastify';

/** src/web/ and dist/web/ are both two levels below the package root. */
export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** URL path -> file, for every servable file under `root` plus the vendored uPlot. */
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
