/**
 * Benchmarks of `loadmon serve` (npm run bench:serve) over 7 days of 1 s
 * samples and 1,000 captures (test/helpers/synthetic-store.ts, the store
 * bench/record.ts reports over):
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

import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { StoreReader } from '../src/store/reader.ts';
import { CHROMIUM, launchChromium, openPage } from '../test/helpers/browser.ts';
import { startServe } from '../test/helpers/processes.ts';
import { DAY_MS as DAY, writeSyntheticStore } from '../test/helpers/synthetic-store.ts';
import { hostLine, median } from './lib.ts';

const DAYS = Number(process.env.BENCH_DAYS ?? '7');
const CAPTURES = Number(process.env.BENCH_CAPTURES ?? '1000');
const RUNS = Number(process.env.BENCH_RUNS ?? '11');

function readEnd(db: string): number {
  const r = StoreReader.open(db);
  try {
    return r.span()!.last;
  } finally {
    r.close();
  }
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
    const ctx = await launchChromium(join(dir, `profile${i}`));
    const { page } = await openPage(ctx, url);
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
    if (!existsSync(db)) writeSyntheticStore(db, { days: DAYS, captures: CAPTURES, high: 0.1, end });
    console.error(
      `bench: wrote ${DAYS} days and ${CAPTURES} captures in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(${statSync(db).size} bytes)`,
    );
    const s = await startServe(['--db', db, '--listen', '127.0.0.1:0'], { timeoutMs: 60_000 });
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
      `${hostLine()}, ${execFileSync(CHROMIUM, ['--version']).toString().trim()}`,
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
