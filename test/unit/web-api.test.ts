import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import type { Report } from '../../src/model/report.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import type { CaptureSummary, CaptureView, TimelineResponse } from '../../src/web/views.ts';
import { type FixtureStore, HOUR, injectGet, loopbackServer, T_END, writeFixtureStore } from '../helpers/web.ts';
import { checkWellFormedXml } from '../helpers/xml.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadmon-web-api-'));
const db = join(dir, 'web.db');
let app: FastifyInstance;
let fx: FixtureStore;
const logged: string[] = [];

before(async () => {
  fx = writeFixtureStore(db);
  app = await loopbackServer(db, { log: (l) => logged.push(l) });
});
after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => injectGet(app, url);
const idOf = (kind: string): number => [...fx.kinds].find(([, k]) => k === kind)![0];

function assertJsonError(r: { statusCode: number; body: string; headers: Record<string, unknown> }, status: number, code: string): void {
  assert.equal(r.statusCode, status, r.body);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const body = JSON.parse(r.body) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 0);
  assert.doesNotMatch(r.body, /\bat .*\.(ts|js):\d+/, 'no stack trace');
}

test('web api: /api/meta describes the store', async () => {
  const r = await get('/api/meta');
  assert.equal(r.statusCode, 200);
  const m = r.json();
  assert.equal(m.host, 'test');
  assert.equal(m.cpus, 2);
  assert.equal(m.threshold, 3);
  assert.equal(m.sample_ms, 1000);
  assert.deepEqual(m.span, { from: T_END - HOUR + 1000, to: T_END });
  assert.equal(m.latest_sample, T_END);
  assert.equal(m.captures_stored, fx.captureIds.length);
  assert.equal(m.recording, false);
});

test('web api: /api/timeline downsamples a range server-side to at most N points and keeps the peaks', async () => {
  const all = (await get('/api/timeline')).json() as TimelineResponse;
  assert.equal(all.samples, fx.samples);
  assert.equal(all.step_ms, 3600, 'an hour in the default 1000 points: 3.6 s buckets');
  assert.ok(all.columns.t.length <= 1000);

  const ten = (await get('/api/timeline?points=10')).json() as TimelineResponse;
  assert.ok(ten.columns.t.length <= 10, `${ten.columns.t.length} points`);
  for (const col of Object.values(ten.columns)) assert.equal(col.length, ten.columns.t.length);
  const load1 = ten.columns.load1.filter((x): x is number => x !== null);
  assert.equal(Math.max(...load1), 5.9, 'the peak of the high half survives downsampling');
  assert.equal(Math.min(...load1), 0.5);
  assert.equal(ten.columns.d[0], null, 'no R/D counts below the scan level');
  assert.equal(ten.columns.d.at(-1), 37);
  assert.equal(ten.threshold, 3);

  // A sub-range at full resolution, by ISO time and by epoch ms.
  const from = T_END - 60_000;
  const iso = (await get(`/api/timeline?from=${new Date(from).toISOString()}&to=${T_END}`)).json() as TimelineResponse;
  assert.equal(iso.step_ms, 1000);
  assert.equal(iso.samples, 61);
  assert.deepEqual(iso.columns.t.slice(0, 2), [from, from + 1000]);
});

test('web api: a gap in the samples is a null row, so the chart does not join across it', async () => {
  // The fixture has no samples before its first hour: ask for two hours.
  const tl = (await get(`/api/timeline?from=${T_END - 2 * HOUR}&to=${T_END}&points=100`)).json() as TimelineResponse;
  assert.equal(tl.columns.t[0], T_END - HOUR + 1000);
  assert.ok(
    tl.columns.load1.every((x) => x !== null),
    'a gap before the first sample is not drawn',
  );
});

test('web api: /api/captures lists a range with each capture’s verdict', async () => {
  const r = (await get('/api/captures')).json() as { total: number; captures: CaptureSummary[] };
  assert.equal(r.total, fx.captureIds.length);
  assert.deepEqual(
    r.captures.map((c) => c.id),
    fx.captureIds,
  );
  const vfork = r.captures.find((c) => c.id === idOf('vfork'))!;
  assert.equal(vfork.verdict.kind, 'uninterruptible');
  assert.equal(vfork.verdict.cause, 'vfork');
  assert.equal(r.captures.find((c) => c.id === idOf('journal'))!.verdict.cause, 'journal');

  const first = r.captures[0]!;
  const some = (await get(`/api/captures?from=${first.t}&to=${first.t + 120_000}`)).json() as { total: number; captures: CaptureSummary[] };
  assert.deepEqual(
    some.captures.map((c) => c.id),
    [fx.captureIds[0], fx.captureIds[1]],
  );

  const limited = (await get('/api/captures?limit=3')).json() as { total: number; captures: CaptureSummary[] };
  assert.equal(limited.total, fx.captureIds.length);
  assert.deepEqual(
    limited.captures.map((c) => c.id),
    fx.captureIds.slice(-3),
    'the newest three',
  );
});

test('web api: /api/captures/:id gives the snapshot, the verdict with evidence and the tasks grouped by normalised stack', async () => {
  const id = idOf('vfork');
  const v = (await get(`/api/captures/${id}`)).json() as CaptureView;
  assert.equal(v.capture.id, id);
  assert.equal(v.snapshot.schema, 'loadmon.snapshot/v1');
  assert.equal(v.verdict[0]!.cause, 'vfork');
  assert.deepEqual(v.verdict[0]!.evidence.captures, [id]);
  const d = v.groups.find((g) => g.state === 'D')!;
  assert.deepEqual(d.frames, ['kernel_clone', '__do_sys_vfork', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
  assert.equal(d.count, 4);
  assert.deepEqual(d.pids, [1000, 1001, 1002, 1003]);
  assert.deepEqual(d.comms, ['vfork-worker']);
  assert.deepEqual(d.cgroups, ['/system.slice/app.service']);
  assert.equal(
    v.groups.reduce((a, g) => a + g.count, 0),
    v.snapshot.tasks.length,
  );

  const flame = (await get(`/api/captures/${id}/flame`)).json() as { total: number; stacks: Array<{ frames: string[]; count: number }> };
  assert.equal(flame.total, v.snapshot.tasks.length);
  assert.ok(
    flame.stacks.some(
      (s) =>
        s.frames.join(';') === 'vfork-worker;entry_SYSCALL_64_after_hwframe;do_syscall_64;__do_sys_vfork;kernel_clone' && s.count === 4,
    ),
  );
});

test('web api: exports of a capture and of a range, as attachments in report’s formats', async () => {
  const id = idOf('vfork');
  const folded = await get(`/api/captures/${id}/export/folded`);
  assert.equal(folded.statusCode, 200);
  assert.match(String(folded.headers['content-disposition']), new RegExp(`attachment; filename="loadmon-capture-${id}\\.folded"`));
  for (const line of folded.body.trimEnd().split('\n')) assert.match(line, /^[^;]+(;[^;]+)* \d+$/);

  const svg = await get(`/api/captures/${id}/export/svg`);
  assert.match(String(svg.headers['content-type']), /^image\/svg\+xml/);
  checkWellFormedXml(svg.body);
  assert.match(svg.body, /__do_sys_vfork/);

  const sp = JSON.parse((await get(`/api/captures/${id}/export/speedscope`)).body) as { $schema: string };
  assert.equal(sp.$schema, 'https://www.speedscope.app/file-format-schema.json');
  const snap = JSON.parse((await get(`/api/captures/${id}/export/json`)).body) as Snapshot;
  assert.equal(snap.tasks.length, 5);

  const range = await get(`/api/export/folded?from=${T_END - HOUR}&to=${T_END}`);
  assert.equal(range.statusCode, 200);
  assert.match(range.body, /vfork-worker;.*;kernel_clone 4\n/);
  const rep = JSON.parse((await get('/api/export/json')).body) as Report;
  assert.equal(rep.schema, 'loadmon.report/v1');
  checkWellFormedXml((await get('/api/export/svg')).body);
});

test('web api: /api/report and /api/flame explain a range: verdict, attribution by process, cgroup and stack', async () => {
  const r = (await get(`/api/report?from=${T_END - HOUR / 2}&to=${T_END}&top=5`)).json() as Report;
  assert.equal(r.schema, 'loadmon.report/v1');
  assert.equal(r.captures.length, fx.captureIds.length);
  assert.ok(r.verdict.some((v) => v.kind === 'cpu-saturation'));
  assert.ok(r.verdict.some((v) => v.kind === 'uninterruptible'));
  assert.equal(r.attribution.mean!.processes.length, 6, 'top 5 and one "others" row');
  assert.match(r.attribution.mean!.processes[5]!.key, /^\d+ others$/);
  assert.ok(r.attribution.mean!.cgroups[0]!.key.startsWith('/system.slice/app'));
  assert.ok(r.stacks.length === 5);

  const empty = (await get(`/api/report?from=${T_END + HOUR}&to=${T_END + 2 * HOUR}`)).json() as Report;
  assert.equal(empty.load, null);
  assert.equal(empty.verdict[0]!.kind, 'no-overload');

  const flame = (await get('/api/flame')).json() as { captures: number; total: number };
  assert.equal(flame.captures, fx.captureIds.length);
  assert.ok(flame.total > 0);
});

test('web api: bad ids, ranges and parameters are 400, missing things 404, always a JSON error without a stack', async () => {
  for (const url of [
    '/api/captures/abc',
    '/api/captures/0',
    '/api/captures/-1',
    '/api/captures/1.5',
    '/api/captures/99999999999999999999',
  ]) {
    assertJsonError(await get(url), 400, 'E_HTTP_BAD_REQUEST');
  }
  assertJsonError(await get('/api/captures/999'), 404, 'E_HTTP_NOT_FOUND');
  assertJsonError(await get('/api/captures/999/flame'), 404, 'E_HTTP_NOT_FOUND');
  assertJsonError(await get('/api/captures/999/export/svg'), 404, 'E_HTTP_NOT_FOUND');
  assertJsonError(await get(`/api/captures/${fx.captureIds[0]}/export/pdf`), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/export/exe'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get(`/api/timeline?from=${T_END}&to=${T_END - 1}`), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/timeline?from=yesterday'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/timeline?to=2026-13-45T99:00'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/timeline?from=1&from=2'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/timeline?points=0'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/timeline?points=100000'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/captures?limit=x'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/report?top=0'), 400, 'E_HTTP_BAD_REQUEST');
  assertJsonError(await get('/api/nothing'), 404, 'E_HTTP_NOT_FOUND');
  assertJsonError(await get('/../../etc/passwd'), 404, 'E_HTTP_NOT_FOUND');
  assertJsonError(await get('/js/../../package.json'), 404, 'E_HTTP_NOT_FOUND');
  assertJsonError(
    await app.inject({ method: 'POST', url: '/api/meta', headers: { host: 'localhost' }, payload: {} }),
    404,
    'E_HTTP_NOT_FOUND',
  );
  assertJsonError(
    await app.inject({ method: 'DELETE', url: `/api/captures/${fx.captureIds[0]}`, headers: { host: 'localhost' } }),
    404,
    'E_HTTP_NOT_FOUND',
  );
  assert.deepEqual(logged, [], 'nothing was an internal error');
});

test('web api: the page and its scripts are served from disk with the right types; uPlot comes from its package', async () => {
  const page = await get('/');
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /<script type="module" src="\/js\/main.js"><\/script>/);
  assert.doesNotMatch(page.body, /<script>(?!<\/script>)/, 'no inline script');
  const js = await get('/js/main.js');
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  const uplot = await get('/vendor/uPlot.esm.js');
  assert.equal(uplot.statusCode, 200);
  assert.match(uplot.body, /export \{ uPlot as default \}|export default uPlot/);
  assert.match(String((await get('/app.css')).headers['content-type']), /^text\/css/);
  assert.doesNotMatch(page.body + js.body, /https?:\/\/(?!www\.speedscope)/, 'no CDN or remote URL');
});

test('web api: a store that is not there is a 503 JSON error, not a crash', async () => {
  const none = await loopbackServer(join(dir, 'absent.db'), { recording: true });
  try {
    assertJsonError(await none.inject({ url: '/api/meta', headers: { host: 'localhost' } }), 503, 'E_HTTP_UNAVAILABLE');
    assert.equal((await none.inject({ url: '/', headers: { host: 'localhost' } })).statusCode, 200, 'the page itself still loads');
  } finally {
    await none.close();
  }
});
