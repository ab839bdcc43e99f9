/** Measurement helpers shared by the benchmarks. */

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** On-CPU time (ns, from schedstat) of a process's threads and its children's, so far. */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const p of [pid, ...childrenOf(pid)]) {
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        total += Number(readFileSync(`/proc/${p}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      }
    } catch {
      /* gone */
    }
  }
  return total;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export { systemThreads } from '../test/helpers/processes.ts';

/** The host line every benchmark report starts with: kernel, CPU model and count, node. */
export function hostLine(): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? '?';
  const cpus = cpuinfo.match(/^processor/gm)?.length ?? '?';
  return `host: ${execFileSync('uname', ['-srm']).toString().trim()}, ${model}, ${cpus} CPUs, node ${process.version}`;
}
