import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { type BrowserContext, chromium } from 'playwright-core';

import type { Workload } from '../../src/workload/workload.ts';
import { CLI } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { newWorkload, waitForState } from '../helpers/workload.ts';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'loadmon-e2e-web-'));
const OUT = join(ROOT, 'test-output');
let serve: ChildProcess | null = null;
let work: Workload | null = null;
let browser: BrowserContext | null = null;

after(async () => {
  await browser?.close().catch(() => {});
  serve?.kill('SIGKILL');
  await work?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Debian's Chromium, headless, with a fresh profile; never a downloaded browser. */
async function launchChromium(profile: string): Promise<BrowserContext> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1440, height: 900 },
  });
}

test('browser: serve --record --source bpf with a real D-state workload; the chart is drawn, the measured blocked time is listed, a capture opens, its flame graph shows the vfork path', async () => {
  work = newWorkload();
  const blocked = await Promise.all([work.vfork(120, 'lm-web-vfork'), work.vfork(120, 'lm-web-vfork'), work.vfork(120, 'lm-web-vfork')]);
  await waitForState(blocked.map((s) => ({ pid: s.pid, tid: s.pid })), 'D', 15_000);

  const db = join(dir, 'live.db');
  serve = spawn(process.execPath, [CLI, 'serve', '--record', '--listen', '127.0.0.1:0', '--threshold', '0', '--cooldown', '2s', '--db', db, '--source', 'bpf'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  serve.stderr!.on('data', (d) => (stderr += d));
  const waitFor = async (re: RegExp, what: string): Promise<RegExpExecArray> => {
    for (let i = 0; i < 300; i++) {
      const m = re.exec(stderr);
      if (m) return m;
      assert.equal(serve!.exitCode, null, `serve exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${what} within 30 s: ${stderr}`);
  };
  const url = (await waitFor(/serving (http:\/\/127\.0\.0\.1:\d+\/) /, 'URL'))[1]!;
  // Two captures (cooldown 2 s): the newest, listed first, has the per-second tracking before it.
  await waitFor(/capture (\d+) stored[^]*capture (\d+) stored/, 'two captures');
  const meta = (await (await fetch(`${url}api/meta`)).json()) as { recording: boolean; captures_stored: number };
  assert.equal(meta.recording, true);
  assert.ok(meta.captures_stored >= 1);

  browser = await launchChromium(join(dir, 'profile'));
  const page = browser.pages()[0] ?? (await browser.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(url);

  // The chart: a uPlot canvas with something drawn on it.
  await page.waitForSelector('#chart canvas', { timeout: 15_000 });
  const painted = await page.$eval('#chart canvas', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return { w: canvas.width, h: canvas.height, n };
  });
  assert.ok(painted.w > 300 && painted.h > 100, JSON.stringify(painted));
  assert.ok(painted.n > 1000, `the canvas is not empty: ${painted.n} painted pixels`);

  // The period: time blocked in D measured by the eBPF tracking, per stack.
  await page.waitForSelector('#period #blocked-stacks tbody tr', { timeout: 15_000 });
  const blockedText = (await page.textContent('#period #blocked-stacks')) ?? '';
  assert.match(blockedText, /kernel_clone ← __do_sys_vfork/);
  assert.match(blockedText, /lm-web-vfork/);

  // The capture list, then one capture.
  const first = await page.waitForSelector('#captures li.cap', { timeout: 15_000 });
  await first.click();
  await page.waitForSelector('#capture .flame .fr[data-name="__do_sys_vfork"]', { timeout: 15_000 });
  const names = await page.$$eval('#capture .flame .fr', (els) => els.map((e) => (e as HTMLElement).dataset.name));
  assert.ok(names.includes('kernel_clone'), names.join(' '));
  assert.ok(names.includes('__do_sys_vfork'));
  assert.ok(names.includes('lm-web-vfork'));
  assert.match((await page.textContent('#capture .verdict')) ?? '', /./);
  assert.match((await page.textContent('#capture table.groups')) ?? '', /kernel_clone ← __do_sys_vfork/);
  // The newest capture is not the first: it says what the D load was made of over the time before it.
  assert.match((await page.textContent('#capture table.recent-blocked')) ?? '', /lm-web-vfork \d+.*kernel_clone ← __do_sys_vfork/s);

  // Interactive: a tooltip on hover, click to zoom, search.
  const frame = page.locator('#capture .flame .fr[data-name="kernel_clone"]').first();
  await frame.hover();
  assert.match((await page.textContent('#tooltip')) ?? '', /kernel_clone.*task observation/s);
  assert.equal(await page.isDisabled('#capture .flame-tools button'), true);
  await frame.click();
  assert.equal(await page.isDisabled('#capture .flame-tools button'), false, 'zoomed: Reset zoom is enabled');
  await page.fill('#capture .flame-tools input', 'vfork');
  assert.match((await page.textContent('#capture .flame-tools .matched')) ?? '', /matched \d+(\.\d)?% /);
  assert.ok((await page.$$('#capture .flame .fr.match')).length >= 2);

  // Download links for the four formats.
  const links = await page.$$eval('#capture .downloads a', (as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')));
  assert.equal(links.length, 4);
  for (const href of links) assert.equal((await fetch(new URL(href!, url))).status, 200, href!);

  mkdirSync(OUT, { recursive: true });
  const shot = join(OUT, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 10_000);
  assert.deepEqual(errors, [], 'no script errors, no CSP violations');

  const code = await new Promise<number | null>((resolve) => {
    serve!.once('exit', (c) => resolve(c));
    serve!.kill('SIGTERM');
  });
  assert.equal(code, 0, stderr);
  serve = null;
});
