#!/usr/bin/env node
/**
 * No line wider than the formatter's line width (biome.json
 * formatter.lineWidth, 140) in the files Biome checks (biome.json
 * files.includes). Biome's formatter wraps whatever it can, but a string,
 * template or regular-expression literal longer than the line stays as it
 * is, without a word; this check is what keeps such lines out (issue 12,
 * item 6). Split the literal, or name a part of it.
 *
 * Width is counted in code points, so '←' or '·' is one column, as on a
 * terminal.
 *
 * Usage: node --import tsx scripts/check-width.ts
 * Prints file:line: width for each line over; exit 1 if any.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
/**
 * Code only: JSON (package.json's scripts) cannot break a string, and other
 * files under the same folders (C, shell) are not Biome's business.
 */
const EXTENSIONS = ['.ts', '.js', '.mjs'];

export interface LongLine {
  /** 1-based. */
  line: number;
  width: number;
}

/** The lines of text wider than width columns (code points). */
export function longLines(text: string, width: number): LongLine[] {
  const out: LongLine[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const w = [...line].length;
    if (w > width) out.push({ line: i + 1, width: w });
  }
  return out;
}

/**
 * Whether a repository path is in Biome's scope, read from files.includes the
 * way this project writes it: `dir/**` or an exact path includes, `!dir`
 * excludes that folder (and wins over any include).
 */
export function inScope(path: string, includes: readonly string[]): boolean {
  const under = (p: string, prefix: string): boolean => p === prefix || p.startsWith(`${prefix}/`);
  const excluded = includes.filter((g) => g.startsWith('!')).some((g) => under(path, g.slice(1).replace(/\/\*\*$/, '')));
  if (excluded) return false;
  return includes.filter((g) => !g.startsWith('!')).some((g) => under(path, g.replace(/\/\*\*$/, '')));
}

interface BiomeConfig {
  files: { includes: string[] };
  formatter: { lineWidth: number };
}

function main(): void {
  const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as BiomeConfig;
  const width = config.formatter.lineWidth;
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  })
    .split('\0')
    // Untracked files count (a new file is checked before it is added); deleted ones do not.
    .filter((f) => f !== '' && EXTENSIONS.some((e) => f.endsWith(e)) && inScope(f, config.files.includes) && existsSync(join(ROOT, f)));
  let bad = 0;
  for (const f of files) {
    for (const l of longLines(readFileSync(join(ROOT, f), 'utf8'), width)) {
      console.log(`${f}:${l.line}: ${l.width} columns (the limit is ${width})`);
      bad++;
    }
  }
  if (bad > 0) process.exit(1);
  console.log(`check-width: ${files.length} files, no line over ${width} columns`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
