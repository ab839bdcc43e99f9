/**
 * npm run bench:kmod — the load_monitor module's walk cost against a procfs
 * scan in the same QEMU guest, per kernel (test/kmod/run.sh makes both:
 * the module's own walk_ns, and lm-procscan timing itself).
 * LOADMON_KMOD_REUSE=1 reads the artifacts of the last run instead.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const OUT = process.env.LOADMON_KMOD_OUT ?? join(ROOT, 'test', 'kmod', 'out');

if (!process.env.LOADMON_KMOD_REUSE) {
  const r = spawnSync('bash', [join(ROOT, 'test', 'kmod', 'run.sh'), ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, LOADMON_KMOD_OUT: OUT },
  });
  if (r.status !== 0 && r.status !== 2) process.exit(r.status ?? 1);
}

const kernels = readFileSync(join(OUT, 'kernels.txt'), 'utf8').split('\n').filter(Boolean);
const rows = [
  '| kernel | threads | module walk, ns per 1,000 threads | procfs scan, ns per 1,000 threads | procfs / module |',
  '|---|---:|---:|---:|---:|',
];
for (const rel of kernels) {
  const file = join(OUT, rel, 'bench.txt');
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  const lm = Number(/module_walk_ns_per_1000_threads=(\d+)/.exec(text)?.[1]);
  const ps = Number(/procfs_scan_ns_per_1000_threads=(\d+)/.exec(text)?.[1]);
  const threads = /summary module_walk_ns_per_1000_threads=\d+ threads=(\d+)/.exec(text)?.[1] ?? '?';
  rows.push(`| ${rel} | ${threads} | ${lm.toLocaleString('en')} | ${ps.toLocaleString('en')} | ${(ps / lm).toFixed(0)}x |`);
}
console.log(rows.join('\n'));
