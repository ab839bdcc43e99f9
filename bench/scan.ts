/**
 * The procfs stat pass alone (ProcfsCollector.scanStates), ms per 1,000
 * threads, on the live /proc with BENCH_THREADS threads alive (sleeping
 * pthreads of `loadgen threads`). With BENCH_COMPARE=<another checkout>
 * (e.g. `git worktree add /tmp/old <commit>`, with a node_modules), that
 * checkout's collector is loaded too and the two scans alternate in this
 * process (order flipped each run), so a change to the reader is measured
 * against the code before it at the same moment: separate processes one
 * after another differed by up to 40% on this shared VM, alternating
 * scans by ~3%. Then the reader alone on a crafted tree (a tmp dir of
 * stat files): trusted (as for a procfs mount) against untrusted (lstat +
 * O_NOFOLLOW per file), to price the type check where it is spent.
 *
 *   node --import tsx bench/scan.ts            # BENCH_THREADS=5000 BENCH_RUNS=61
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { median, systemThreads } from './lib.ts';

const THREADS = Number(process.env.BENCH_THREADS ?? '5000');
const RUNS = Number(process.env.BENCH_RUNS ?? '61');

type Scanner = { scanStates(): { threadsScanned: number }; close(): void };

/** The stat pass of this checkout and, with `compare`, another's, alternating (order flipped each run); medians. */
async function scanCost(compare: string | undefined): Promise<{ here: number; there: number | null }> {
  const mine = (await import('../src/collect/procfs.ts')).ProcfsCollector;
  const theirs = compare
    ? ((await import(join(compare, 'src', 'collect', 'procfs.ts'))) as { ProcfsCollector: new (o: object) => Scanner }).ProcfsCollector
    : null;
  const a: Scanner = new mine({ details: 'inline' });
  const b: Scanner | null = theirs ? new theirs({ details: 'inline' }) : null;
  const times: [number[], number[]] = [[], []];
  const one = (c: Scanner, into: number[]): void => {
    const t = performance.now();
    const { threadsScanned } = c.scanStates();
    into.push(((performance.now() - t) / threadsScanned) * 1000);
  };
  a.scanStates(); // warm-up: dentries, JIT
  b?.scanStates();
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0 || !b) one(a, times[0]);
    if (b) one(b, times[1]);
    if (i % 2 === 1 && b) one(a, times[0]);
  }
  a.close();
  b?.close();
  return { here: median(times[0]), there: b ? median(times[1]) : null };
}

/** The reader alone over `n` stat files in a tmp dir, trusted vs untrusted; ms per 1,000 files. */
async function readerCost(n: number): Promise<{ trusted: number; untrusted: number }> {
  const { ProcReader } = await import('../src/procfs/reader.ts');
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-bench-scan-'));
  try {
    const paths: string[] = [];
    for (let i = 0; i < n; i++) {
      mkdirSync(join(dir, String(i)));
      const p = join(dir, String(i), 'stat');
      writeFileSync(
        p,
        `${i} (worker) S 1 ${i} ${i} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5000 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 ` +
          `0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n`,
      );
      paths.push(p);
    }
    const readers = { trusted: new ProcReader(), untrusted: new ProcReader(4096, { untrusted: true }) };
    const times = { trusted: [] as number[], untrusted: [] as number[] };
    for (let r = 0; r < RUNS; r++) {
      for (const kind of ['trusted', 'untrusted'] as const) {
        const t = performance.now();
        for (const p of paths) readers[kind].readInto(p, 4096);
        times[kind].push(((performance.now() - t) / n) * 1000);
      }
    }
    return { trusted: median(times.trusted), untrusted: median(times.untrusted) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { buildLoadgen } = await import('../src/workload/helper.ts');
  const { Workload } = await import('../src/workload/workload.ts');
  const compare = process.env.BENCH_COMPARE;
  const work = new Workload(buildLoadgen());
  const rows: string[] = [];
  try {
    for (let left = Math.max(0, THREADS - systemThreads()); left > 0; left -= 1000) await work.threads(Math.min(1000, left), 900);
    await new Promise((r) => setTimeout(r, 500));
    const alive = systemThreads();
    const { here, there } = await scanCost(compare);
    rows.push(`threads alive: ${alive}; ${RUNS} scans each, alternating, medians`);
    rows.push('| code | stat pass, ms per 1,000 threads |', '|---|---:|');
    rows.push(`| this checkout | ${here.toFixed(2)} |`);
    if (there !== null) {
      rows.push(`| ${compare} | ${there.toFixed(2)} |`);
      rows.push(`this / compared: ${(here / there).toFixed(3)}x`);
    }
  } finally {
    await work.stop();
  }
  const r = await readerCost(5000);
  rows.push('', '| reader over 5,000 stat files in a tmp dir | ms per 1,000 files |', '|---|---:|');
  rows.push(`| trusted (open O_NONBLOCK + read, as for a procfs mount) | ${r.trusted.toFixed(2)} |`);
  rows.push(`| untrusted (lstat + open O_NONBLOCK/O_NOFOLLOW + read) | ${r.untrusted.toFixed(2)} |`);
  console.log(rows.join('\n'));
}

await main();
