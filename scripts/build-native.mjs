#!/usr/bin/env node
// Builds the native waiter (native/waiter.c -> dist/native/loadmon-wait,
// docs/trigger.md) with gcc. Where gcc is missing or fails, it says so in one
// line and succeeds: watch and record then poll /proc/loadavg from Node as
// before (a little more CPU while idle), and PSI triggers are unavailable.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'native');
const BIN = join(OUT, 'loadmon-wait');
const FALLBACK = 'watch/record will poll /proc/loadavg from Node and PSI triggers are unavailable';

mkdirSync(OUT, { recursive: true });
// Built beside and renamed: a watch running the old binary keeps it, a new one gets the whole new one.
const tmp = `${BIN}.${process.pid}.tmp`;
const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', tmp, join(ROOT, 'native', 'waiter.c')], { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  const why = r.error ? (r.error.code === 'ENOENT' ? 'gcc is not installed' : r.error.message) : `gcc exited ${r.status}`;
  console.log(`build-native: native waiter NOT built (${why}); ${FALLBACK}`);
  process.exit(0);
}
renameSync(tmp, BIN);
