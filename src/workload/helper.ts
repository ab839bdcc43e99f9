/**
 * Builds helpers/loadgen.c (the demo's and the tests' load fixtures) with
 * gcc on first use, into a cache keyed by the source's hash.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadmonEnv } from '../env.ts';
import { HELPERS_DIR } from '../paths.ts';

export class HelperBuildError extends Error {}

function cacheDirs(): string[] {
  const dirs: string[] = [];
  const own = loadmonEnv().cacheDir;
  if (own !== null) dirs.push(own);
  dirs.push(join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'loadmon'));
  dirs.push(join(tmpdir(), `loadmon-${process.getuid?.() ?? 'user'}`));
  return dirs;
}

export function hasCompiler(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Path of the built loadgen binary; builds it if needed. Throws HelperBuildError. */
export function buildLoadgen(): string {
  const src = join(HELPERS_DIR, 'loadgen.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  let lastErr: unknown;
  for (const dir of cacheDirs()) {
    // The binary's name is the tasks' comm: keep it telling ("loadmon-loadgen", 15 bytes).
    const binDir = join(dir, `loadgen-${hash}`);
    const bin = join(binDir, 'loadmon-loadgen');
    if (existsSync(bin)) return bin;
    try {
      mkdirSync(binDir, { recursive: true, mode: 0o755 });
      accessSync(binDir, constants.W_OK);
      const tmp = `${bin}.${process.pid}.tmp`;
      execFileSync('gcc', ['-O2', '-Wall', '-pthread', '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(tmp, bin);
      return bin;
    } catch (err) {
      lastErr = err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !hasCompiler()) break;
    }
  }
  const why = lastErr instanceof Error ? lastErr.message.split('\n')[0] : String(lastErr);
  throw new HelperBuildError(`cannot build the load generator with gcc: ${why}`);
}
