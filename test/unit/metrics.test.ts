import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { StoreWriter } from '../../src/store/writer.ts';
import { CAPTURE_CAUSES, D_CAUSES } from '../../src/web/metrics/registry.ts';
import { buildServer } from '../../src/web/server.ts';
import { batchAtIoLimit, FLUSH } from '../helpers/bpf-fixture.ts';
import { SESSION, sample, snapshot } from '../helpers/store.ts';
import { CGROUPS, parsePrometheus, T_END, verdictFixtures, writeFixtureStore } from '../helpers/web.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-metrics-'));
const db = join(dir, 'm.db');
let app: FastifyInstance;

before(async () => {
  writeFixtureStore(db);
  ({ app } = await buildServer({ db, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} }));
});
after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

async function scrape(a = app) {
  const r = await a.inject({ url: '/metrics', headers: { host: 'localhost' } });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(r.body);
}

const value = (fams: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}): number | undefined =>
  [...fams.values()].flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;

test('metrics: the strict checker refuses what Prometheus would refuse', () => {
  const ok = '# HELP a_b x\n# TYPE a_b gauge\na_b{c="d",e="f\\"g"} 1.5e3\n';
  assert.equal(parsePrometheus(ok).get('a_b')!.samples[0]!.labels.e, 'f\\"g');
  for (const bad of [
    'a_b 1\n', // no HELP/TYPE
    '# HELP a_b x\na_b 1\n', // no TYPE
    '# HELP a_b x\n# TYPE a_b gauge\na_b{c=d} 1\n', // unquoted label
    '# HELP a_b x\n# TYPE a_b gauge\na_b one\n', // bad value
    '# HELP a_b x\n# TYPE a_b gauge\na-b 1\n', // bad name
    '# HELP a_b x\n# TYPE a_b gauge\nc_d 1\n', // sample of another family
    '# HELP a_b x\n# TYPE a_b gauge\na_b{c="1",c="2"} 1\n', // duplicate label
    '# HELP a_b x\n# TYPE a_b gauge\na_b 1', // no final newline
    '# HELP a_b x\n# TYPE a_b wat\na_b 1\n', // unknown type
  ]) {
    assert.throws(() => parsePrometheus(bad), JSON.stringify(bad));
  }
});

test('metrics: /metrics is valid exposition text with the load, R/D, captures and process metrics', async () => {
  const f = await scrape();
  assert.equal(value(f, 'loadmon_load1'), 4, 'the newest sample: load1 4 + (14:00:00 s % 20)/10');
  assert.ok(value(f, 'loadmon_load5') !== undefined && value(f, 'loadmon_load15') !== undefined);
  assert.equal(value(f, 'loadmon_runnable_threads'), 10);
  assert.equal(value(f, 'loadmon_uninterruptible_threads'), 37);
  assert.equal(value(f, 'loadmon_sample_scanned'), 1);
  assert.equal(value(f, 'loadmon_last_sample_timestamp_seconds'), T_END / 1000);
  assert.equal(value(f, 'loadmon_threshold_load1'), 3);
  assert.equal(value(f, 'loadmon_cpus'), SESSION.cpus);
  assert.equal(f.get('loadmon_captures_total')!.type, 'counter');
  assert.deepEqual(
    f.get('loadmon_captures_total')!.samples.map((s) => [s.labels.cause, s.value]),
    CAPTURE_CAUSES.map((c) => [c, 0]),
    'the 12 fixture captures were stored before the server started: every cause present, at 0',
  );
  assert.equal(f.get('loadmon_capture_duration_seconds')!.type, 'histogram');
  assert.equal(value(f, 'loadmon_pressure_avg10_ratio', { resource: 'cpu', kind: 'some' }), 0.125);
  assert.equal(value(f, 'loadmon_recording'), 0);
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds']) assert.ok(f.has(name), name);
  for (const name of f.keys()) assert.match(name, /^(loadmon|process)_[a-z0-9_]+$/, name);
  for (const fam of f.values()) if (fam.type === 'counter') assert.match(fam.name, /_total$/, fam.name);
});

test('metrics: per-cgroup series are bounded to the 20 busiest plus "other", and add up', async () => {
  const f = await scrape();
  for (const name of ['loadmon_cgroup_runnable_threads', 'loadmon_cgroup_uninterruptible_threads']) {
    const samples = f.get(name)!.samples;
    const cgroups = new Set(samples.map((s) => s.labels.cgroup));
    assert.ok(cgroups.size <= 21, `${name}: ${cgroups.size} series`);
    assert.equal(cgroups.size, 21, `${CGROUPS} cgroups in the fixture: 20 of their own and other`);
    assert.ok(cgroups.has('other'));
    assert.deepEqual(
      samples.map((s) => Object.keys(s.labels)),
      samples.map(() => ['cgroup']),
    );
  }
  const sum = (name: string) => f.get(name)!.samples.reduce((a, s) => a + s.value, 0);
  assert.equal(sum('loadmon_cgroup_runnable_threads'), value(f, 'loadmon_runnable_threads'));
  assert.equal(sum('loadmon_cgroup_uninterruptible_threads'), value(f, 'loadmon_uninterruptible_threads'));
});

test('metrics: a new capture is counted and its duration observed; the counter never goes down', async () => {
  const before = await scrape();
  assert.equal(value(before, 'loadmon_capture_duration_seconds_count'), 0, 'the histogram counts captures stored since the server started');
  const w = StoreWriter.open(db);
  w.useSession(1);
  const snap = snapshot(T_END + 500, [{ pid: 9, state: 'D', stack: ['io_schedule+0x1/0x2'] }]);
  snap.capture.ms = 42;
  w.insertCapture(snap);
  w.close();
  const f = await scrape();
  assert.equal(value(f, 'loadmon_captures_total', { cause: 'block-io' }), 1, 'its first verdict line: D in io_schedule');
  const total = f.get('loadmon_captures_total')!.samples.reduce((a, x) => a + x.value, 0);
  assert.equal(total, 1, 'no other cause counted it');
  assert.equal(value(f, 'loadmon_capture_duration_seconds_count'), 1);
  assert.equal(value(f, 'loadmon_capture_duration_seconds_sum'), 0.042);
  assert.equal(value(f, 'loadmon_capture_duration_seconds_bucket', { le: '0.025' }), 0);
  assert.equal(value(f, 'loadmon_capture_duration_seconds_bucket', { le: '0.05' }), 1);
  assert.equal(value(await scrape(), 'loadmon_capture_duration_seconds_count'), 1, 'observed once');
});

test('metrics: below the scan level the R/D series are absent (unknown), not zero', async () => {
  const path = join(dir, 'idle.db');
  const w = StoreWriter.open(path);
  w.beginSession(SESSION);
  w.insertSample(sample(T_END, 0.4, null));
  w.close();
  const { app: idle } = await buildServer({ db: path, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
  try {
    const f = await scrape(idle);
    assert.equal(value(f, 'loadmon_sample_scanned'), 0);
    assert.equal(value(f, 'loadmon_load1'), 0.4);
    assert.equal(value(f, 'loadmon_runnable_threads'), undefined);
    assert.equal(value(f, 'loadmon_uninterruptible_threads'), undefined);
    assert.equal(f.get('loadmon_cgroup_runnable_threads')?.samples.length ?? 0, 0);
    assert.equal(value(f, 'loadmon_captures_total', { cause: 'vfork' }), 0);
    assert.equal(f.get('loadmon_uninterruptible_threads_by_cause')?.samples.length ?? 0, 0, 'not scanned: D by cause unknown, absent');
    assert.equal(value(f, 'loadmon_measured_uninterruptible_threads'), undefined, 'no bpf tracking: absent');
  } finally {
    await idle.close();
  }
});

test('metrics: with the bpf tracking, the measured mean of threads in D over the newest sample period', async () => {
  const path = join(dir, 'bpf.db');
  const w = StoreWriter.open(path);
  w.beginSession({ ...SESSION, source: 'bpf', scanAbove: 0 });
  const s = sample(T_END, 0.4, [{ pid: 7, comm: 'fsync-loop', r: 0, d: 1 }]);
  const stack = ['submit_bio_wait+0x74/0xc0', 'blkdev_issue_flush+0x7c/0xb0'];
  s.offcpu = {
    windowMs: 1000,
    entries: [
      { pid: 7, comm: 'fsync-loop', cgroup: '/test.slice', stack, ms: 600, ended: 40 },
      { pid: 8, comm: 'other', cgroup: '/test.slice', stack, ms: 150, ended: 3 },
    ],
  };
  w.insertSample(s);
  w.close();
  const { app: a } = await buildServer({ db: path, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
  try {
    const f = await scrape(a);
    assert.equal(value(f, 'loadmon_measured_uninterruptible_threads'), 0.75);
    // submit_bio_wait: block I/O; the measured split adds up to the measured mean, the light scan's 1 D is not used.
    assert.deepEqual(byCause(f), { ...zeroCauses(), 'block-io': 0.75 });
  } finally {
    await a.close();
  }
});

test("metrics: measured D by cause is re-labelled cgroup where the sample's evidence shows the process's limit biting", async () => {
  const path = join(dir, 'bpf-cgroup.db');
  const w = StoreWriter.open(path);
  w.beginSession({ ...SESSION, source: 'bpf', scanAbove: 0 });
  const s = sample(T_END, 3, [
    { pid: 20, comm: 'dwriter', r: 0, d: 1, cgroup: '/batch' },
    { pid: 8, comm: 'dd', r: 0, d: 1 },
  ]);
  // The same flush: pid 20 is throttled by /batch's io limit (the verdict's cgroup), pid 8 waits for the device.
  s.offcpu = {
    windowMs: 1000,
    entries: [
      { pid: 20, comm: 'dwriter', cgroup: '/batch', stack: FLUSH, ms: 600, ended: 40 },
      { pid: 8, comm: 'dd', cgroup: '/test.slice', stack: FLUSH, ms: 150, ended: 3 },
    ],
  };
  s.evidence = { window_ms: 1000, devices: [], memory: null, cgroups: [batchAtIoLimit()] };
  w.insertSample(s);
  w.close();
  const { app: a } = await buildServer({ db: path, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
  try {
    assert.deepEqual(byCause(await scrape(a)), { ...zeroCauses(), cgroup: 0.6, 'block-io': 0.15 });
  } finally {
    await a.close();
  }
});

const zeroCauses = () => Object.fromEntries(D_CAUSES.map((c) => [c, 0]));
const byCause = (f: ReturnType<typeof parsePrometheus>) =>
  Object.fromEntries<number>(f.get('loadmon_uninterruptible_threads_by_cause')!.samples.map((s) => [s.labels.cause ?? '', s.value]));

test('metrics: D by cause from the light scan: every cause present, the unattributed rest as unknown, adds up to D', async () => {
  const path = join(dir, 'causes.db');
  const w = StoreWriter.open(path);
  w.beginSession(SESSION);
  const s = { ...sample(T_END, 5, [{ pid: 7, comm: 'x', r: 1, d: 9 }]), dCauses: { vfork: 5, lock: 2, 'not-a-cause': 1 } };
  w.insertSample(s);
  w.close();
  const { app: a } = await buildServer({ db: path, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
  try {
    const f = await scrape(a);
    assert.deepEqual(byCause(f), { ...zeroCauses(), vfork: 5, lock: 2, unknown: 2 });
    assert.deepEqual(Object.keys(byCause(f)), D_CAUSES, 'the cause table, in its order');
    assert.equal(
      Object.values(byCause(f)).reduce((x, y) => x + y, 0),
      value(f, 'loadmon_uninterruptible_threads'),
    );
  } finally {
    await a.close();
  }
});

test('metrics: captures are counted by their first verdict line: a D cause, cpu, or none', async () => {
  const path = join(dir, 'verdicts.db');
  writeFixtureStore(path);
  const { app: a } = await buildServer({ db: path, token: null, listenHost: '127.0.0.1', recording: false, log: () => {} });
  try {
    const w = StoreWriter.open(path);
    w.useSession(1);
    const vfork = verdictFixtures().find((x) => x.name === 'vfork')!.snapshot;
    w.insertCapture({ ...vfork, time: new Date(T_END + 1000).toISOString() });
    w.insertCapture({ ...vfork, time: new Date(T_END + 2000).toISOString() });
    const busy = snapshot(
      T_END + 3000,
      [1, 2, 3, 4, 5, 6].map((pid) => ({ pid, state: 'R' as const })),
    );
    w.insertCapture(busy);
    w.insertCapture(snapshot(T_END + 4000, []));
    w.close();
    const f = await scrape(a);
    assert.equal(value(f, 'loadmon_captures_total', { cause: 'vfork' }), 2);
    assert.equal(value(f, 'loadmon_captures_total', { cause: 'cpu' }), 1, '6 R threads on 2 CPUs: CPU saturation');
    assert.equal(value(f, 'loadmon_captures_total', { cause: 'none' }), 1, 'nothing R or D: no overload');
    assert.equal(value(f, 'loadmon_capture_duration_seconds_count'), 4);
  } finally {
    await a.close();
  }
});

test('metrics: promtool check metrics finds nothing in a live /metrics', async (t) => {
  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (promtool.error) return t.skip('promtool is not installed (Debian package prometheus; scripts/install-test-deps.sh installs it)');
  const body = (await app.inject({ url: '/metrics', headers: { host: 'localhost' } })).body;
  const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no finding at all');
  assert.equal(r.status, 0);
  // The check can fail: a gauge named like a counter is a finding.
  const bad = spawnSync('promtool', ['check', 'metrics'], {
    input: '# HELP x_total x\n# TYPE x_total gauge\nx_total 1\n',
    encoding: 'utf8',
  });
  assert.match(`${bad.stdout}${bad.stderr}`, /x_total/);
});
