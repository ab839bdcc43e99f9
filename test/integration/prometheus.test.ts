/**
 * A real Prometheus (Debian's prometheus package) scrapes `loadmon serve
 * --record` (the built CLI) through its token, with the rules of
 * contrib/prometheus loaded, while vfork parents sit in D. Checked through
 * Prometheus' HTTP API: the per-cause series and the recording rules hold
 * the workload, and every PromQL expression of the Grafana fleet dashboard
 * evaluates without an error.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import type { Workload } from '../../src/workload/workload.ts';
import { CLI } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { newWorkload, waitForState } from '../helpers/workload.ts';

const RULES = join(ROOT, 'contrib', 'prometheus', 'loadmon.rules.yml');
const DASHBOARD = join(ROOT, 'contrib', 'grafana', 'loadmon-fleet.json');
const TOKEN = 'prom-integration-token-1234';
const VFORKS = 4;

const dir = mkdtempSync(join(tmpdir(), 'loadmon-prometheus-'));
const children: ChildProcess[] = [];
let work: Workload | null = null;

after(async () => {
  await work?.stop();
  await Promise.all(children.map(stop));
  rmSync(dir, { recursive: true, force: true });
});

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (the recorder reads every task)';
  if (spawnSync('prometheus', ['--version']).error) return 'prometheus is not installed (Debian package prometheus)';
  if (!existsSync(CLI)) return 'dist/ is not built (npm run build)';
  return null;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts the built CLI's serve --record; resolves with host:port once it prints its URL. */
function startServe(db: string): Promise<string> {
  const args = ['serve', '--record', '--listen', '127.0.0.1:0', '--token', TOKEN, '--db', db, '--source', 'procfs'];
  // A low threshold: the light scan (and so D by cause) runs at half of it, and captures happen.
  args.push('--threshold', '0.2', '--cooldown', '3s', '--sample', '1s');
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL: ${err}`)), 30_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /serving http:\/\/(\S+)\/ /.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

function startPrometheus(target: string, port: number): void {
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(RULES)}]`,
      'scrape_configs:',
      '  - job_name: loadmon',
      `    authorization: { credentials: ${JSON.stringify(TOKEN)} }`,
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
      '',
    ].join('\n'),
  );
  const args = [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`];
  children.push(spawn('prometheus', args, { stdio: 'ignore' }));
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(port: number, expr: string): Promise<Sample[]> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  assert.equal(body.status, 'success', `${expr}: ${body.error}`);
  return body.data!.resultType === 'vector' ? body.data!.result : [];
}

/** Polls (bounded) until `expr` has a sample for which `ok` holds; returns it. */
async function waitFor(port: number, expr: string, ok: (v: number) => boolean, timeoutMs = 60_000): Promise<Sample> {
  const end = Date.now() + timeoutMs;
  let last: Sample[] = [];
  while (Date.now() < end) {
    try {
      last = await query(port, expr);
      const hit = last.find((s) => ok(Number(s.value[1])));
      if (hit) return hit;
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // TypeError: fetch failed, Prometheus not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${expr}: no matching sample in ${timeoutMs} ms; last ${JSON.stringify(last)}`);
}

/** The PromQL of every dashboard panel, its template variables replaced as Grafana would for "All". */
function dashboardExprs(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m')));
}

test('prometheus: a real server scrapes serve --record with its token; per-cause series, rules and every dashboard query work', {
  timeout: 180_000,
}, async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const target = await startServe(join(dir, 'loadmon.db'));
  const unauth = await fetch(`http://${target}/metrics`);
  assert.equal(unauth.status, 401, 'the token is required: Prometheus gets in only through its authorization option');
  work = newWorkload();
  const parents = await Promise.all(Array.from({ length: VFORKS }, () => work!.vfork(120)));
  await waitForState(
    parents.map((p) => ({ pid: p.pid, tid: p.pid })),
    'D',
  );
  const port = await freePort();
  startPrometheus(target, port);
  const sel = `job="loadmon",instance="${target}"`;

  await waitFor(port, `up{${sel}}`, (v) => v === 1);
  // Others' workloads may add D threads: at least ours.
  const vfork = await waitFor(port, `loadmon_uninterruptible_threads_by_cause{${sel},cause="vfork"}`, (v) => v >= VFORKS);
  assert.equal(vfork.metric.cause, 'vfork');
  const causes = await query(port, `loadmon_uninterruptible_threads_by_cause{${sel}}`);
  assert.deepEqual(causes.map((s) => s.metric.cause).sort(), [
    'block-io',
    'cgroup',
    'journal',
    'lock',
    'memory',
    'netfs',
    'unknown',
    'vfork',
  ]);

  await waitFor(port, `instance_cause:loadmon_uninterruptible_threads:sum{${sel},cause="vfork"}`, (v) => v >= VFORKS);
  await waitFor(port, `instance:loadmon_uninterruptible_threads:sum{${sel}}`, (v) => v >= VFORKS);
  const cpus = Number((await waitFor(port, `loadmon_cpus{${sel}}`, (v) => v > 0)).value[1]);
  const onlineCpus = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l)).length;
  assert.equal(cpus, onlineCpus);
  // The ratio rule is load1 / CPUs: compare it with the raw series over the same minute (both move every 5 s).
  const ratio = Number((await waitFor(port, `instance:loadmon_load1_per_cpu:ratio{${sel}}`, (v) => v > 0)).value[1]);
  const load = await query(port, `max_over_time(loadmon_load1{${sel}}[1m]) / ${cpus}`);
  assert.ok(ratio <= Number(load[0]!.value[1]) + 1e-9, `ratio ${ratio} vs max load1/cpu ${load[0]!.value[1]}`);
  assert.ok(ratio >= 0.5 / cpus, `${VFORKS} D threads keep load1 up: ${ratio}`);
  // With the threshold at 0.2 the recorder captures; every capture is counted under one cause.
  await waitFor(port, `sum(loadmon_captures_total{${sel}})`, (v) => v >= 1);
  await waitFor(port, `instance_cause:loadmon_load_threads:sum{${sel},cause="vfork"}`, (v) => v >= VFORKS);

  const exprs = dashboardExprs();
  assert.ok(exprs.length >= 9, `${exprs.length} queries`);
  for (const expr of exprs) await query(port, expr);
  // The queries see data, not just parse: the ranking and the D-by-cause panel hold this host.
  assert.ok(
    (await query(port, exprs[0]!)).some((s) => s.metric.instance === target),
    exprs[0],
  );
  // The instance variable: label_values(<selector>, instance), as Grafana asks Prometheus for it.
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { templating: { list: Array<{ name: string; definition?: string }> } };
  const def = dash.templating.list.find((v) => v.name === 'instance')!.definition!;
  const m = /^label_values\((.+), instance\)$/.exec(def);
  assert.ok(m, def);
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/label/instance/values?match[]=${encodeURIComponent(m[1]!)}`);
  assert.ok(((await r.json()) as { data: string[] }).data.includes(target), 'the instance variable lists the host');
});
