import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renderFlameGraph } from '../../src/format/flamegraph.ts';
import { foldSnapshots, formatFolded, parseFolded } from '../../src/format/folded.ts';
import { SPEEDSCOPE_SCHEMA, type SpeedscopeFile, toSpeedscope } from '../../src/format/speedscope.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { fixture } from '../helpers/fixtures.ts';
import { checkWellFormedXml } from '../helpers/xml.ts';

const vfork = JSON.parse(fixture('verdict', 'vfork.json')) as Snapshot;
const nfs = JSON.parse(fixture('verdict', 'netfs.json')) as Snapshot;
// A hostile comm: markup, an entity, a separator and a control character.
nfs.tasks[0]!.comm = '<b>&x;y\u0001';

test('folded: comm;outermost..innermost count, offsets stripped, counts summed', () => {
  const text = formatFolded(foldSnapshots([vfork, vfork]));
  assert.equal(
    text,
    'busy;[R: no kernel stack] 2\n' + 'vfork-worker;entry_SYSCALL_64_after_hwframe;do_syscall_64;__do_sys_vfork;kernel_clone 8\n',
  );
  assert.deepEqual(
    parseFolded(text).map((s) => s.count),
    [2, 8],
  );
});

test('folded: a comm cannot add frames or lines', () => {
  const lines = formatFolded(foldSnapshots([nfs]))
    .trimEnd()
    .split('\n');
  assert.equal(lines.length, 3);
  const hostile = lines.find((l) => l.startsWith('<b>'))!;
  assert.equal(hostile.split(';')[0], '<b>&x:y\\x01');
});

test("speedscope: the schema's required fields, root-first stacks, weights = task counts", () => {
  const folded = foldSnapshots([vfork, nfs]);
  // The file as a reader gets it: the type only names the fields, the asserts check them.
  const f = JSON.parse(JSON.stringify(toSpeedscope(folded, 'test', 'loadmon test'))) as SpeedscopeFile;
  assert.equal(f.$schema, SPEEDSCOPE_SCHEMA);
  for (const k of ['$schema', 'shared', 'profiles']) assert.ok(k in f, k);
  assert.ok(Array.isArray(f.shared.frames) && f.shared.frames.every((x) => typeof x.name === 'string'));
  assert.equal(f.profiles.length, 1);
  const p = f.profiles[0]!;
  for (const k of ['type', 'name', 'unit', 'startValue', 'endValue', 'samples', 'weights']) assert.ok(k in p, k);
  assert.equal(p.type, 'sampled');
  assert.ok(['none', 'nanoseconds', 'microseconds', 'milliseconds', 'seconds', 'bytes'].includes(p.unit));
  assert.equal(p.samples.length, p.weights.length);
  for (const s of p.samples) for (const i of s) assert.ok(Number.isInteger(i) && i >= 0 && i < f.shared.frames.length);
  assert.equal(
    p.endValue - p.startValue,
    p.weights.reduce((a, b) => a + b, 0),
  );
  const vforkSample = p.samples.find((s) => f.shared.frames[s[s.length - 1]!]!.name === 'kernel_clone');
  assert.equal(f.shared.frames[vforkSample![0]!]!.name, 'vfork-worker', 'root first');
});

test('svg: well-formed XML with a tooltip and a rectangle for every frame, and the search script', () => {
  const folded = foldSnapshots([vfork, nfs]);
  const svg = renderFlameGraph(folded, { title: 'test <&> "graph"' });
  const { elements } = checkWellFormedXml(svg);
  assert.ok(elements > 10);
  const titles = [...svg.matchAll(/<title>([^<]*) \(\d+ task observations?/g)].map((m) => m[1] ?? '');
  const unxml = (s: string): string =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const drawn = titles.map(unxml);
  for (const s of folded) for (const fr of s.frames) assert.ok(drawn.includes(fr), `frame ${fr} drawn`);
  assert.match(svg, /<script type="text\/ecmascript"><!\[CDATA\[/);
  assert.match(svg, /function search\(\)/);
  assert.ok(!svg.includes('\u0001'), 'no U+0001 left in the SVG');
  assert.equal(renderFlameGraph(folded, { title: 't' }), renderFlameGraph(folded, { title: 't' }), 'pure');
  checkWellFormedXml(renderFlameGraph([], { title: 'empty' }));
});

test('the XML check rejects what is not well-formed', () => {
  const bad = [
    '<a><b></a></b>',
    '<a x="1" x="2"/>',
    '<a x=1/>',
    '<a>&nbsp;</a>',
    '<a>&</a>',
    '<a/><b/>',
    '<a>',
    'text',
    '<a x="<"/>',
    '<a><!-- x -- y --></a>',
  ];
  for (const doc of bad) assert.throws(() => checkWellFormedXml(doc), /not well-formed/, doc);
  assert.equal(checkWellFormedXml('<?xml version="1.0"?><a x="&amp;"><b/><![CDATA[<&>]]>t&#65;</a>').elements, 2);
});

test('folded and svg: an R task with a user stack (bpf profile) shows its user frames, marked _[u], above its kernel frames', () => {
  const snap = structuredClone(vfork);
  const r = snap.tasks.find((t) => t.state === 'R')!;
  r.user_stack = ['loadmon_fp_inner+0x4/0x1a (/tmp/fpspin)', 'loadmon_fp_outer+0x9/0x20 (/tmp/fpspin)', 'main+0x2f/0x40 (/tmp/fpspin)'];
  r.samples = 98;
  const withKernel = structuredClone(r);
  withKernel.tid = r.tid + 1;
  withKernel.stack = ['do_sys_poll+0x1/0x2', '__x64_sys_poll+0x3/0x4'];
  snap.tasks.push(withKernel);
  const lines = formatFolded(foldSnapshots([snap]))
    .trimEnd()
    .split('\n');
  assert.ok(
    lines.includes('busy;main (/tmp/fpspin)_[u];loadmon_fp_outer (/tmp/fpspin)_[u];loadmon_fp_inner (/tmp/fpspin)_[u] 1'),
    lines.join('\n'),
  );
  assert.ok(
    lines.includes(
      'busy;main (/tmp/fpspin)_[u];loadmon_fp_outer (/tmp/fpspin)_[u];loadmon_fp_inner (/tmp/fpspin)_[u];__x64_sys_poll;do_sys_poll 1',
    ),
  );
  assert.ok(!lines.some((l) => l.includes('[R: no kernel stack]')), 'a task with a user stack needs no pseudo-frame');
  // The SVG draws user frames in another colour family (aqua) than kernel frames (warm).
  const svg = renderFlameGraph(foldSnapshots([snap]), { title: 't' });
  const red = (name: string): number => {
    const g = [...svg.matchAll(/<g class="f"><title>([^<]*) \(\d+ task observation[^<]*<\/title><rect [^>]*fill="rgb\((\d+),/g)].find(
      (m) => m[1] === name,
    );
    assert.ok(g, `frame ${name} drawn`);
    return Number(g[2]);
  };
  assert.ok(red('main (/tmp/fpspin)_[u]') < 120);
  assert.ok(red('kernel_clone') >= 205);
});
