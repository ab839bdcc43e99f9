/**
 * Benchmarks of `loadmon serve` (npm run bench:serve) over 7 days of 1 s
 * samples and 1,000 captures (the store bench/record.ts describes):
 *
 *  1. /metrics scrape time (median of 50, loopback HTTP, whole request);
 *  2. /api/timeline for the last day and for all 7 days (server-side
 *     downsampling to 1,000 points), /api/captures and /api/report;
 *  3. the dashboard in Debian's Chromium: first contentful paint and the
 *     time until the chart and the capture list are drawn (fresh profile per
 *     run, median of 5), and the switch to the 7-day view.
 *
 * BENCH_DAYS=7, BENCH_CAPTURES=1000, BENCH_RUNS adjust it.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { chromium } from 'playwright-core';

import type { Snapshot } from '../src/model/snapshot.ts';
import { StoreReader } from '../src/store/reader.ts';
import { StoreWriter } from '../src/store/writer.ts';
import { CLI, hostLine, median } from './lib.ts';

const DAYS = Number(process.env.BENCH_DAYS ?? '7');
const CAPTURES = Number(process.env.BENCH_CAPTURES ?? '1000');
const RUNS = Number(process.env.BENCH_RUNS ?? '11');
const DAY = 86_400_000;

const STACKS = [
  ['kernel_clone+0x1d3/0x400', '__do_sys_vfork+0x66/0x90', 'do_syscall_64+0x71/0x290', 'entry_SYSCALL_64_after_hwframe+0x76/0x7e'],
  [
    'io_schedule+0x46/0x70',
    'folio_wait_bit_common+0x13d/0x350',
    'folio_wait_writeback+0x2b/0x80',
    'ext4_sync_file+0x7a/0x360',
    '__x64_sys_fsync+0x3b/0x70',
    'do_syscall_64+0x71/0x290',
  ],
  ['jbd2_log_wait_commit+0xb2/0x120', 'ext4_sync_file+0x1c5/0x360', '__x64_sys_fsync+0x3b/0x70', 'do_syscall_64+0x71/0x290'],
];

/** 10% of the time at high load (9 processes in 3 cgroups counted), evenly spread captures of 40 tasks. */
function writeStore(path: string, end: number): void {
  const w = StoreWriter.open(path, end - DAYS * DAY);
  w.beginSession({
    startedMs: end - DAYS * DAY,
    host: 'bench',
    pid: 1,
    cpus: 2,
    source: 'procfs',
    threshold: 3,
    thresholdSpec: '3',
    scanAbove: 1.5,
    sampleMs: 1000,
  });
  const every = Math.floor((DAYS * 86_400) / CAPTURES);
  let n = 0;
  for (let i = 0, t = end - DAYS * DAY; t <= end; i++, t += 1000) {
    const high = i % 10_000 < 1000;
    const load1 = high ? 6 + (i % 7) / 10 : 0.3;
    const psi = (v: number) => ({ avg10: v, avg60: 0, avg300: 0, totalUs: i });
    w.insertSample({
      timeMs: t,
      load1,
      load5: load1,
      load15: load1,
      runnable: high ? 3 : 1,
      threads: 800,
      pressure: {
        cpu: { some: psi(high ? 40 : 0.5), full: psi(0) },
        io: { some: psi(high ? 20 : 0), full: psi(0) },
        memory: { some: psi(0), full: psi(0) },
      },
      scan: high
        ? {
            r: 3,
            d: 6,
            procs: Array.from({ length: 9 }, (_, k) => ({
              pid: 1000 + k,
              comm: `worker-${k}`,
              cgroup: `/system.slice/app${k % 3}.service`,
              r: k < 3 ? 1 : 0,
              d: k < 3 ? 0 : 1,
            })),
          }
        : null,
    });
    if (i % every === 0 && n < CAPTURES) {
      n++;
      const snap: Snapshot = {
        schema: 'loadmon.snapshot/v1',
        time: new Date(t).toISOString(),
        host: 'bench',
        source: 'procfs',
        cpus: 2,
        loadavg: { load1: 6.5, load5: 4, load15: 2, runnable: 6, threads: 800 },
        trigger: { reason: 'load1>=threshold', threshold: 3, threshold_spec: '3', load1: 6.5, cooldown_ms: 20000, capture_index: n },
        capture: { ms: 12, threads_scanned: 800 },
        tasks: Array.from({ length: 40 }, (_, k) => ({
          pid: 1000 + (k % 9),
          tid: 1000 + k,
          comm: `worker-${k % 9}`,
          state: k < 6 ? 'R' : 'D',
          stack: k < 6 ? [] : STACKS[k % 3]!,
          wchan: null,
          cgroup: `/system.slice/app${k % 3}.service`,
        })),
        notes: [],
      };
      w.insertCapture(snap);
    }
  }
  w.close();
}

function readEnd(db: string): number {
  const r = StoreReader.open(db);
  try {
    return r.span()!.last;
  } finally {
    r.close();
  }
}

function startServe(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--db', db, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /serving (http:\/\/\S+\/) /.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (c) => reject(new Error(`serve exited ${c}: ${err}`)));
  });
}

async function timeGet(url: string, runs: number): Promise<{ ms: number; bytes: number }> {
  const xs: number[] = [];
  let bytes = 0;
  await (await fetch(url)).arrayBuffer(); // warm: prepared statements, caches
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await fetch(url);
    const body = await r.arrayBuffer();
    xs.push(performance.now() - t);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    bytes = body.byteLength;
  }
  return { ms: median(xs), bytes };
}

async function browserTimes(url: string, dir: string): Promise<{ fcp: number; ready: number; week: number }> {
  const fcps: number[] = [];
  const readies: number[] = [];
  const weeks: number[] = [];
  for (let i = 0; i < 5; i++) {
    const ctx = await chromium.launchPersistentContext(join(dir, `profile${i}`), {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1440, height: 900 },
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(url);
    await page.waitForSelector('#chart canvas');
    await page.waitForSelector('#captures li.cap');
    const t = await page.evaluate(() => {
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
      return { fcp, ready: performance.now() };
    });
    if (i === 0 && process.env.BENCH_VERBOSE) {
      console.error(
        await page.evaluate(() =>
          (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
            .map((e) => `${e.name.replace(/^http:\/\/[^/]+/, '')} ${e.startTime.toFixed(0)}..${e.responseEnd.toFixed(0)}`)
            .join('\n'),
        ),
      );
    }
    fcps.push(t.fcp);
    readies.push(t.ready);
    // The 7-day view: click to timeline, captures and chart drawn.
    const t0 = await page.evaluate(() => performance.now());
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/timeline')),
      page.waitForResponse((r) => r.url().includes('/api/captures?')),
      page.click('button[data-range="604800000"]'),
    ]);
    const t1 = await page.evaluate(() => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now()))));
    weeks.push(t1 - t0);
    await ctx.close();
  }
  return { fcp: median(fcps), ready: median(readies), week: median(weeks) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loadmon-bench-serve-'));
  let child: ChildProcess | null = null;
  try {
    // BENCH_DB=path keeps the synthetic store there (and reuses it when it exists).
    const db = process.env.BENCH_DB ?? join(dir, 'week.db');
    const end = existsSync(db) ? readEnd(db) : Date.now();
    const t0 = performance.now();
    if (!existsSync(db)) writeStore(db, end);
    console.error(
      `bench: wrote ${DAYS} days and ${CAPTURES} captures in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(${statSync(db).size} bytes)`,
    );
    const s = await startServe(db);
    child = s.child;
    const rows: string[] = ['| request | median | body |', '|---|---:|---:|'];
    const row = async (label: string, path: string, runs: number): Promise<void> => {
      const r = await timeGet(s.url + path, runs);
      rows.push(`| ${label} | ${r.ms.toFixed(1)} ms | ${(r.bytes / 1024).toFixed(0)} KiB |`);
      console.error(`bench: ${label}: ${r.ms.toFixed(1)} ms`);
    };
    await row('`/metrics` scrape', 'metrics', 50);
    await row('`/api/timeline`, last day, 1000 points', `api/timeline?from=${end - DAY}&to=${end}&points=1000`, RUNS);
    await row(`\`/api/timeline\`, all ${DAYS} days, 1000 points`, `api/timeline?points=1000`, RUNS);
    await row('`/api/captures`, last day', `api/captures?from=${end - DAY}&to=${end}`, RUNS);
    await row(`\`/api/captures\`, ${DAYS} days (newest 500)`, 'api/captures?limit=500', RUNS);
    await row('`/api/report`, last hour', `api/report?from=${end - 3_600_000}&to=${end}`, 5);
    await row('`/api/report`, last day', `api/report?from=${end - DAY}&to=${end}`, 5);
    const b = await browserTimes(s.url, dir);
    const out = [
      `# loadmon serve benchmark ${new Date().toISOString()}`,
      '',
      `${hostLine()}, ${execFileSync('/usr/bin/chromium', ['--version']).toString().trim()}`,
      `store: ${DAYS} days of 1 s samples, ${CAPTURES} captures, ${(statSync(db).size / 1048576).toFixed(1)} MiB`,
      '',
      ...rows,
      '',
      '| dashboard in Chromium (fresh profile, median of 5) | time |',
      '|---|---:|',
      `| first contentful paint | ${b.fcp.toFixed(0)} ms |`,
      `| chart and capture list drawn (default view: the last hour) | ${b.ready.toFixed(0)} ms |`,
      `| switch to the ${DAYS}-day view (click to drawn) | ${b.week.toFixed(0)} ms |`,
    ];
    console.log(out.join('\n'));
  } finally {
    child?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
