/**
 * loadmon's version, read once from package.json (the one place it is
 * written), so that `--version`, the API's /api/meta and the exporter name
 * in speedscope files cannot disagree with the package that is installed.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { PACKAGE_ROOT } from './paths.ts';

/** The "version" field of `root`/package.json; a package without one is broken, not versionless. */
export function readVersion(root: string = PACKAGE_ROOT): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string' || pkg.version === '') throw new Error(`${join(root, 'package.json')} has no "version"`);
  return pkg.version;
}

export const VERSION = readVersion();

/** How loadmon names itself in the files it exports (speedscope's "exporter"). */
export const EXPORTER = `loadmon ${VERSION}`;
