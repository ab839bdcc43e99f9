import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildTopModel, nextGrouping, type TopGrouping, type TopModel } from '../../src/analyze/top-rows.ts';
import { renderTopScreen } from '../../src/format/top-screen.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { parsePressure } from '../../src/procfs/pressure.ts';
import { fixture } from '../helpers/fixtures.ts';

const snap = (name: string): Snapshot => JSON.parse(fixture(name)) as Snapshot;
const pressure = {
  cpu: parsePressure(fixture('pressure', 'cpu.txt')),
  io: parsePressure(fixture('pressure', 'io.txt')),
};
const TRIGGER = { threshold: 3, cooldown_ms: 20_000, captures: 0, last_capture: null };

function model(name: string, grouping: TopGrouping = 'process', prev: Snapshot | null = null): TopModel {
  return buildTopModel({ snap: snap(name), pressure, grouping, prev, intervalMs: 1000, trigger: TRIGGER });
}

test('top rows by process: ranked by share of the R+D threads, with the commonest D cause', () => {
  const m = model('top/bpf-mixed.json');
  assert.equal(m.r + m.d, 10);
  const first = m.rows[0]!;
  assert.deepEqual([first.pid, first.label, first.r, first.d, first.cause], [4100, 'postgres', 0, 3, 'block-io']);
  assert.equal(first.share, 3 / 10);
  const p4200 = m.rows.find((r) => r.pid === 4200)!;
  assert.deepEqual([p4200.r, p4200.d, p4200.cause], [1, 1, 'lock']);
  const busy = m.rows.find((r) => r.pid === 6000)!;
  assert.equal(busy.cause, null);
  assert.equal(m.rows.reduce((a, r) => a + r.share, 0).toFixed(6), '1.000000');
});

test('top rows: bpf blocked time counts only the part inside the refresh window', () => {
  // 250, 1250, 2250 ms off CPU; window 1000 ms (no previous refresh: the interval).
  assert.equal(model('top/bpf-mixed.json').rows[0]!.blocked_ms, 250 + 1000 + 1000);
  const prev = { ...snap('top/bpf-mixed.json'), time: '2026-11-27T13:17:50.204Z' };
  assert.equal(model('top/bpf-mixed.json', 'process', prev).rows[0]!.blocked_ms, 250 + 1250 + 2000);
  assert.equal(model('verdict/vfork.json').rows[0]!.blocked_ms, null, 'procfs has no blocked time');
});

test('top rows by cgroup, command and stack; g cycles through the four', () => {
  const cg = model('top/bpf-mixed.json', 'cgroup');
  assert.deepEqual(
    cg.rows.map((r) => [r.label, r.r + r.d]),
    [
      ['/system.slice/postgresql.service', 5],
      ['/user.slice', 4],
      ['/evil\x1b]0;x\x07', 1],
    ],
  );
  const cmd = model('top/bpf-mixed.json', 'command');
  assert.deepEqual(cmd.rows[0]!.label, 'postgres');
  assert.equal(cmd.rows[0]!.r + cmd.rows[0]!.d, 5);
  const st = model('top/bpf-mixed.json', 'stack');
  assert.equal(st.rows[0]!.d, 4, 'the three postgres threads and the evil one share the block-io stack');
  assert.ok(st.rows.some((r) => r.label === '(no stack, R)' && r.r === 3));
  assert.deepEqual(
    ['process', 'cgroup', 'command', 'stack'].map((g) => nextGrouping(g as TopGrouping)),
    ['cgroup', 'command', 'stack', 'process'],
  );
});

test('top screen at 80x24: header, table, key line; every line fits; names escaped', () => {
  const lines = renderTopScreen(model('top/bpf-mixed.json'), { width: 80, height: 24, selected: 0, color: false, keys: true });
  assert.equal(lines.length, 24);
  for (const l of lines) assert.ok(Array.from(l).length <= 80, l);
  assert.match(lines[0]!, /^loadmon top {2}fixture {2}13:17:52Z {2}bpf {2}by process$/);
  assert.match(lines[1]!, /^load 9\.40 4\.20 1\.50 {2}per cpu 4\.70 2\.10 0\.75 {2}\(2 cpus\)$/);
  assert.match(lines[2]!, /^psi cpu \[[#.]{10}\] [\d.]+% {2}io \[[#.]{10}\] [\d.]+% {2}mem n\/a$/);
  assert.equal(lines[3], 'tasks 3 R  7 D  of 812 threads');
  assert.equal(lines[4], 'trigger threshold 3.00  cooldown 20s  captures 0  last none');
  assert.match(lines[5]!, /SHARE +R +D +BLOCKED CAUSE +PID PROCESS/);
  assert.match(lines[6]!, /^> +30\.0% +0 +3 +2\.3s block-io +4100 postgres$/);
  assert.ok(lines.some((l) => l.includes('evil\\x1b[2J\\u202ename')));
  assert.ok(!lines.join('\n').includes('\x1b'), 'no raw escape without colour');
  assert.match(lines[23]!, /^q quit/);
});

test('top screen narrower (40 columns, 10 lines): shortened header, scrolled to the selection', () => {
  const m = model('top/bpf-mixed.json');
  const lines = renderTopScreen(m, { width: 40, height: 10, selected: 5, color: false, keys: true });
  assert.equal(lines.length, 10);
  for (const l of lines) assert.ok(Array.from(l).length <= 40, l);
  assert.match(lines[1]!, /^load 9\.40 4\.20 1\.50 {2}\/cpu 4\.70$/);
  assert.ok(lines[2]!.includes('cpu ['));
  // 5 header lines + table header + 3 rows + key line: rows 3..5 are shown.
  const shown = lines.slice(6, 9);
  assert.match(shown[2]!, /^>/);
  assert.equal(shown.filter((l) => l.startsWith('>')).length, 1);
});

test('top screen: colour only when asked; a pipe gets every row and no key line', () => {
  const m = model('verdict/vfork.json');
  const colored = renderTopScreen(m, { width: 80, height: 24, selected: 0, color: true, keys: true });
  assert.ok(colored[6]!.startsWith('\x1b[7m>'));
  const piped = renderTopScreen(m, { width: 80, height: null, selected: null, color: false, keys: false });
  assert.equal(piped.length, 6 + m.rows.length);
  assert.doesNotMatch(piped.at(-1)!, /quit/);
  assert.match(piped[6]!, /^ +20\.0% +0 +1 vfork +1000 vfork-worker$/);
});
