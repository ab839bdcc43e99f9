/**
 * The pprof export (src/format/pprof.ts), decoded back with pprof-format's
 * own decoder: sample types, values, labels, frames (leaf first) and
 * mappings, on real snapshots (test/fixtures/pprof: a `snapshot --source bpf
 * --profile 1s` of a frame-pointer busy loop and vfork parents, and a `watch
 * --source bpf` capture with its measured blocked_recent), a procfs store,
 * and hostile names. The CLI writes the bytes the API sends.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Profile } from 'pprof-format';

import { captureVerdict } from '../../src/analyze/capture-verdict.ts';
import { taskStack } from '../../src/analyze/stacks.ts';
import { reportCommand } from '../../src/cli/commands/report.ts';
import { exportCapture } from '../../src/format/export.ts';
import { captureProfile, KERNEL_MAPPING, kernelFrame, NOT_ITEMISED, PPROF_SAMPLE_TYPES, userFrame } from '../../src/format/pprof.ts';
import type { Report } from '../../src/model/report.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { batchAtIoLimit, bpfCapture, dwriterTask, FLUSH } from '../helpers/bpf-fixture.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { UNSAFE } from '../helpers/unsafe-chars.ts';
import { fixtureServer, HOUR, T_END, verdictFixtures } from '../helpers/web.ts';

interface DecodedSample {
  /** Leaf first. */
  frames: string[];
  files: string[];
  values: Record<string, number>;
  labels: Record<string, string | number>;
}

interface Decoded {
  types: string[];
  defaultType: string;
  comments: string[];
  samples: DecodedSample[];
  addresses: number[];
  mappings: Array<{ file: string; start: number; limit: number }>;
}

/** Gunzip and decode with pprof-format; ids resolved to names. */
function decode(bytes: Uint8Array): Decoded {
  const p = Profile.decode(gunzipSync(bytes));
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  const fns = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const maps = new Map(p.mapping.map((m) => [Number(m.id), str(m.filename)]));
  const locs = new Map(p.location.map((l) => [Number(l.id), l]));
  const types = p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`);
  const samples = p.sample.map((s) => {
    const ls = s.locationId.map((id) => locs.get(Number(id))!);
    return {
      frames: ls.map((l) => fns.get(Number(l.line[0]!.functionId))!),
      files: ls.map((l) => (Number(l.mappingId) === 0 ? '' : maps.get(Number(l.mappingId))!)),
      values: Object.fromEntries(s.value.map((v, i) => [str(p.sampleType[i]!.type), Number(v)])),
      labels: Object.fromEntries(s.label.map((l) => [str(l.key), Number(l.str) !== 0 ? str(l.str) : Number(l.num)])),
    };
  });
  return {
    types,
    defaultType: str(p.defaultSampleType),
    comments: p.comment.map(str),
    samples,
    addresses: p.location.map((l) => Number(l.address)),
    mappings: p.mapping.map((m) => ({ file: str(m.filename), start: Number(m.memoryStart), limit: Number(m.memoryLimit) })),
  };
}

function total(d: Decoded, type: string): number {
  return d.samples.reduce((a, s) => a + (s.values[type] ?? 0), 0);
}

function fixture(name: string): Snapshot {
  return JSON.parse(readFileSync(join(FIXTURES, 'pprof', `${name}.json`), 'utf8')) as Snapshot;
}

const served = fixtureServer('loadmon-pprof-', 'pprof.db');
const { dir, db, get } = served;

test('four sample types in a fixed order; no address anywhere; kernel frames in the [kernel] mapping', () => {
  const d = decode(captureProfile(fixture('snapshot-profile'), 'c'));
  assert.deepEqual(
    d.types,
    PPROF_SAMPLE_TYPES.map((t) => `${t.type}/${t.unit}`),
  );
  assert.deepEqual(d.types, ['blocked/nanoseconds', 'd_observations/count', 'r_observations/count', 'cpu_samples/count']);
  assert.ok(d.addresses.length > 0 && d.addresses.every((a) => a === 0));
  assert.ok(d.mappings.every((m) => m.start === 0 && m.limit === 0));
  assert.ok(d.mappings.some((m) => m.file === KERNEL_MAPPING));
  assert.deepEqual(d.comments, ['c']);
});

test('a profiled capture: one observation per task, and the on-CPU samples in the user stack alone', () => {
  const snap = fixture('snapshot-profile');
  const d = decode(captureProfile(snap, 'c'));
  assert.equal(total(d, 'd_observations'), snap.tasks.filter((t) => t.state === 'D').length);
  assert.equal(total(d, 'r_observations'), snap.tasks.filter((t) => t.state === 'R').length);
  assert.equal(
    total(d, 'cpu_samples'),
    snap.tasks.reduce((a, t) => a + (t.samples ?? 0), 0),
  );
  assert.equal(total(d, 'blocked'), 0, 'a one-shot snapshot measures no blocked time');
  assert.equal(d.defaultType, 'd_observations');

  const spin = snap.tasks.find((t) => t.comm === 'loadmon-fpspin')!;
  const mine = d.samples.filter((s) => s.labels.pid === spin.pid);
  const cpu = mine.find((s) => s.values.cpu_samples! > 0)!;
  assert.equal(cpu.values.cpu_samples, spin.samples);
  assert.deepEqual(cpu.frames, ['loadmon_fp_inner', 'loadmon_fp_middle', 'loadmon_fp_outer', 'main', '? (libc.so.6)']);
  assert.deepEqual(cpu.files, ['loadmon-fpspin', 'loadmon-fpspin', 'loadmon-fpspin', 'loadmon-fpspin', 'libc.so.6']);
  assert.deepEqual(cpu.labels, { state: 'R', cause: 'unknown', comm: 'loadmon-fpspin', pid: spin.pid, cgroup: spin.cgroup! });

  // Where it was at the capture instant: kernel frames (innermost first), then its user frames outward.
  const seen = mine.find((s) => s.values.r_observations === 1)!;
  assert.equal(seen.values.cpu_samples, 0);
  assert.deepEqual(seen.frames, [...spin.stack.map((f) => f.replace(/\+.*/, '')), ...cpu.frames]);
  assert.deepEqual(
    seen.files.slice(0, spin.stack.length),
    spin.stack.map(() => KERNEL_MAPPING),
  );

  for (const t of snap.tasks.filter((x) => x.state === 'D')) {
    const s = d.samples.find((x) => x.labels.pid === t.pid)!;
    assert.deepEqual(
      s.frames,
      t.stack.map((f) => f.replace(/\+.*/, '')),
    );
    assert.deepEqual(s.labels, { state: 'D', cause: taskStack(t).cause, comm: t.comm, pid: t.pid, cgroup: t.cgroup! });
    assert.equal(s.labels.cause, 'vfork');
  }
});

test('a bpf capture: its blocked_recent as blocked nanoseconds per process and stack, the rest not itemised', () => {
  const snap = fixture('watch-blocked');
  const recent = snap.blocked_recent!;
  const d = decode(captureProfile(snap, 'c'));
  assert.equal(d.defaultType, 'blocked');
  for (const b of recent.stacks) {
    const s = d.samples.find((x) => x.labels.pid === b.pid && x.values.blocked! > 0 && x.frames.length === b.stack.length)!;
    assert.ok(s, `pid ${b.pid}`);
    assert.equal(s.values.blocked, Math.round(b.blocked_ms * 1e6));
    // " [sched]" is loadmon's mark of a scheduler frame, not a module: the function is the symbol, in [kernel].
    assert.deepEqual(
      s.frames,
      b.stack.map((f) => f.replace(/\+.*/, '')),
    );
    assert.ok(s.files.every((f) => f === KERNEL_MAPPING));
  }
  // mean_d has 3 decimals: the total matches it to half a unit of the window.
  const want = recent.mean_d * recent.window_ms * 1e6;
  assert.ok(Math.abs(total(d, 'blocked') - want) <= recent.window_ms * 0.0005 * 1e6, `${total(d, 'blocked')} vs ${want}`);
  const rest = d.samples.filter((s) => s.frames[0] === NOT_ITEMISED);
  const itemised = recent.stacks.reduce((a, b) => a + b.blocked_ms, 0);
  assert.equal(rest.length, want / 1e6 - itemised > recent.window_ms * 0.0005 ? 1 : 0);
  const vfork = d.samples.filter((s) => s.labels.comm === 'pp-vfork' && s.values.blocked! > 0);
  assert.equal(vfork.length, 2);
  assert.ok(vfork.every((s) => s.labels.cause === 'vfork' && s.frames[0] === 'kernel_clone'));
});

test("a capture with a cgroup at its io limit: its waits are labelled cgroup, as the capture's verdict says", () => {
  // pid 20 in /batch, throttled at 1 MiB/s, flushes; pid 10 flushes outside it.
  const flush = (pid: number, cgroup: string) => ({ ...dwriterTask(pid, pid, 'D', FLUSH, cgroup), comm: `w${pid}` });
  const snap = bpfCapture(T_END, {
    tasks: [flush(20, '/batch'), flush(10, '/other')],
    notes: [],
    evidence: { window_ms: 1000, devices: [], memory: null, cgroups: [batchAtIoLimit()] },
    blocked_recent: {
      window_ms: 60_000,
      mean_d: 0.015,
      stacks: [
        { pid: 20, comm: 'w20', cgroup: '/batch', stack: FLUSH, blocked_ms: 600, ended: 6 },
        { pid: 10, comm: 'w10', cgroup: '/other', stack: FLUSH, blocked_ms: 300, ended: 3 },
      ],
    },
  });
  const verdict = captureVerdict(1, snap);
  assert.ok(
    verdict.some((v) => v.cause === 'cgroup'),
    JSON.stringify(verdict.map((v) => v.cause)),
  );
  const d = decode(captureProfile(snap, 'c'));
  const causes = (pid: number) => new Set(d.samples.filter((s) => s.labels.pid === pid).map((s) => s.labels.cause));
  assert.deepEqual([...causes(20)], ['cgroup'], 'observation and blocked time alike');
  assert.deepEqual([...causes(10)], ['block-io']);
  assert.equal(d.samples.filter((s) => s.labels.pid === 20 && s.values.blocked! > 0).length, 1);
});

test('frames: offsets dropped, modules as mappings, unknown user functions keep their file', () => {
  assert.deepEqual(kernelFrame('nfs_wait_bit_killable+0x1d/0x90 [nfs]'), { name: 'nfs_wait_bit_killable', file: '[nfs]' });
  assert.deepEqual(kernelFrame('io_schedule+0x42/0x70 [sched]'), { name: 'io_schedule', file: KERNEL_MAPPING });
  assert.deepEqual(kernelFrame('kernel_clone'), { name: 'kernel_clone', file: KERNEL_MAPPING });
  assert.deepEqual(userFrame('main+0x88/0x93 (/usr/bin/x y)'), { name: 'main', file: '/usr/bin/x y' });
  assert.deepEqual(userFrame('? (libc.so.6)'), { name: '? (libc.so.6)', file: 'libc.so.6' });
  assert.deepEqual(userFrame('?'), { name: '?', file: '' });
});

test('hostile names are escaped in labels, frames and files (pprof and profilers print them)', () => {
  const snap = fixture('snapshot-profile');
  const evil = '\x1b]0;x\x07\u202e';
  const t = snap.tasks.find((x) => x.comm === 'loadmon-fpspin')!;
  t.comm = `spin${evil}`;
  t.cgroup = `/a${evil}`;
  t.user_stack = [`f${evil}+0x1/0x2 (/b${evil})`];
  const d = decode(captureProfile(snap, `c${evil}`));
  const s = d.samples.find((x) => x.labels.pid === t.pid && x.values.cpu_samples! > 0)!;
  for (const v of [s.labels.comm, s.labels.cgroup, s.frames[0], s.files[0], d.comments[0]]) {
    assert.equal(typeof v, 'string');
    assert.doesNotMatch(v as string, UNSAFE, JSON.stringify(v));
    assert.match(v as string, /\\x1b/);
  }
});

function cliBytes(args: Record<string, string>, name: string): Buffer {
  const out = join(dir, name);
  reportCommand({ db, out, format: 'pprof', ...args });
  return readFileSync(out);
}

test('a capture as pprof: the CLI writes the bytes the API sends', async () => {
  const id = served.fx.captureIds[0]!;
  const api = await get(`/api/captures/${id}/export/pprof`);
  assert.equal(api.statusCode, 200);
  assert.equal(api.headers['content-type'], 'application/octet-stream');
  assert.equal(api.headers['content-disposition'], `attachment; filename="loadmon-capture-${id}.pb.gz"`);
  assert.deepEqual(api.rawPayload, cliBytes({ capture: String(id) }, 'capture.pb.gz'));
  const gz = exportCapture(id, verdictFixtures()[0]!.snapshot, 'pprof').body;
  assert.deepEqual(Buffer.from(gz).subarray(0, 2), Buffer.from([0x1f, 0x8b]), 'gzip magic');
});

test('a procfs period as pprof: observations add up to the report stacks, by cause too; CLI and API send the same bytes', async () => {
  const from = T_END - HOUR / 2;
  const to = T_END;
  const api = await get(`/api/export/pprof?from=${from}&to=${to}`);
  assert.equal(api.statusCode, 200);
  assert.equal(api.headers['content-disposition'], 'attachment; filename="loadmon-20261127T133000Z-20261127T140000Z.pb.gz"');
  const since = new Date(from).toISOString();
  const until = new Date(to).toISOString();
  const bytes = cliBytes({ since, until }, 'period.pb.gz');
  assert.deepEqual(api.rawPayload, bytes);

  const d = decode(bytes);
  reportCommand({ db, out: join(dir, 'r.json'), format: 'json', since, until, top: '1000' });
  const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as Report;
  const count = (state: string) => report.stacks.filter((s) => s.state === state).reduce((a, s) => a + s.count, 0);
  assert.ok(count('D') > 0);
  assert.equal(total(d, 'd_observations'), count('D'));
  assert.equal(total(d, 'r_observations'), count('R'));
  assert.equal(total(d, 'blocked'), 0);
  assert.equal(d.defaultType, 'd_observations');
  assert.match(d.comments[0]!, new RegExp(`^loadmon: ${served.fx.captureIds.length} capture\\(s\\), 2026-11-27T13:30:00\\.000Z`));
  // Per cause, the D observations are the report's.
  for (const cause of new Set(report.stacks.map((s) => s.cause))) {
    const want = report.stacks.filter((s) => s.state === 'D' && s.cause === cause).reduce((a, s) => a + s.count, 0);
    const got = d.samples.filter((s) => s.labels.cause === cause).reduce((a, s) => a + s.values.d_observations!, 0);
    assert.equal(got, want, cause);
  }
});
