import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildTopModel, nextGrouping, type TopBlocked, type TopGrouping, type TopModel } from '../../src/analyze/top-rows.ts';
import { renderTopDetail, renderTopScreen, renderTopWaiting } from '../../src/format/top-screen.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import type { OffcpuEntry } from '../../src/model/timeline.ts';
import { parsePressure } from '../../src/procfs/pressure.ts';
import { fixture } from '../helpers/fixtures.ts';

const snap = (name: string): Snapshot => JSON.parse(fixture(name)) as Snapshot;
const pressure = {
  cpu: parsePressure(fixture('pressure', 'cpu.txt')),
  io: parsePressure(fixture('pressure', 'io.txt')),
};
const TRIGGER = { threshold: 3, cooldown_ms: 20_000, captures: 0, last_capture: null };

// The fixture's io stack, one offset different: rows match entries by symbols, as stacks are grouped.
const IO_STACK = [
  'io_schedule+0x46/0x70',
  '__blkdev_direct_IO_simple+0x19d/0x2b0',
  'blkdev_direct_IO+0x3e/0x60',
  'blkdev_read_iter+0xa9/0x170',
  'vfs_read+0x1cd/0x3d0',
  'ksys_read+0x6f/0xf0',
  'do_syscall_64+0x71/0x290',
  'entry_SYSCALL_64_after_hwframe+0x76/0x7e',
];
const entry = (pid: number, comm: string, cgroup: string, stack: string[], ms: number): OffcpuEntry => ({
  pid,
  comm,
  cgroup,
  stack,
  ms,
  ended: 0,
});
/** What the tracking measured over a 1 s refresh: postgres 4100 blocked 2.3 s in all, a process no longer in D 900 ms. */
const BLOCKED: TopBlocked = {
  windowMs: 1000,
  entries: [
    entry(4100, 'postgres', '/system.slice/postgresql.service', IO_STACK, 1500),
    entry(4100, 'postgres', '/system.slice/postgresql.service', ['folio_wait_bit+0x10/0x20'], 800),
    entry(4200, 'postgres', '/system.slice/postgresql.service', ['rwsem_down_write_slowpath+0x2c1/0x5c0'], 300),
    entry(9999, 'gone', '/user.slice', IO_STACK, 900),
  ],
};

function model(name: string, grouping: TopGrouping = 'process', blocked: TopBlocked | null = BLOCKED): TopModel {
  return buildTopModel({ snap: snap(name), pressure, grouping, blocked, trigger: TRIGGER });
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

test('top rows: the blocked time is what the tracking measured over the refresh, per row of each grouping', () => {
  const m = model('top/bpf-mixed.json');
  assert.equal(m.blocked_window_ms, 1000);
  assert.equal(m.rows.find((r) => r.pid === 4100)!.blocked_ms, 1500 + 800);
  assert.equal(m.rows.find((r) => r.pid === 4200)!.blocked_ms, 300);
  assert.equal(
    m.rows.find((r) => r.pid === 5000)!.blocked_ms,
    0,
    'D now but not blocked in the window: 0, not the time since it went off CPU',
  );
  assert.ok(!m.rows.some((r) => r.pid === 9999), 'a process no longer R/D has no row');
  const cg = model('top/bpf-mixed.json', 'cgroup');
  assert.equal(cg.rows.find((r) => r.label === '/system.slice/postgresql.service')!.blocked_ms, 2600);
  const st = model('top/bpf-mixed.json', 'stack');
  // The io stack row holds 4100's three threads and 7000's: the 1.5 s of 4100 and the 0.9 s of the gone process.
  assert.equal(st.rows[0]!.blocked_ms, 1500 + 900);
  const plain = model('verdict/vfork.json', 'process', null);
  assert.equal(plain.blocked_window_ms, null);
  assert.ok(
    plain.rows.every((r) => r.blocked_ms === null),
    'without the tracking there is no blocked time',
  );
  assert.doesNotMatch(renderTopScreen(plain, { width: 80, height: 24, selected: 0, color: false, keys: true })[5]!, /BLOCKED/);
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
  assert.equal(lines[4], 'trigger threshold 3.00  cooldown left 20s  captures 0  last none');
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
  const m = model('verdict/vfork.json', 'process', null);
  const colored = renderTopScreen(m, { width: 80, height: 24, selected: 0, color: true, keys: true });
  assert.ok(colored[6]!.startsWith('\x1b[7m>'));
  const piped = renderTopScreen(m, { width: 80, height: null, selected: null, color: false, keys: false });
  assert.equal(piped.length, 6 + m.rows.length);
  assert.doesNotMatch(piped.at(-1)!, /quit/);
  assert.match(piped[6]!, /^ +20\.0% +0 +1 vfork +1000 vfork-worker$/);
});

test('top detail (Enter): each thread with its state, cause and kernel stack; scrolls; a row gone says so', () => {
  const m = model('top/bpf-mixed.json');
  const row = m.rows.find((r) => r.pid === 4200)!;
  const lines = renderTopDetail(m, row, 'process 4200 postgres', { width: 80, height: 24, offset: 0, color: false });
  assert.equal(lines.length, 24);
  for (const l of lines) assert.ok(Array.from(l).length <= 80, l);
  assert.equal(lines[2], 'process 4200 postgres  1 R  1 D');
  assert.equal(lines[3], 'tid 4200  D  lock  pid 4200 postgres');
  assert.equal(lines[4], '    rwsem_down_write_slowpath+0x2c1/0x5c0');
  const r = lines.indexOf('tid 4201  R  -  pid 4200 postgres');
  assert.ok(r > 4, lines.join('\n'));
  assert.equal(lines[r + 1], '    (no kernel stack)');
  assert.match(lines[23]!, /Esc\/Backspace back/);
  const small = (offset: number): string[] =>
    renderTopDetail(m, row, 'process 4200 postgres', { width: 80, height: 6, offset, color: false });
  assert.equal(small(1)[3], lines[4], 'scrolled by one line');
  assert.deepEqual(small(99), small(lines.filter((l) => l.startsWith('tid') || l.startsWith('    ')).length - 2), 'clamped at the end');
  const gone = renderTopDetail(m, null, 'process 1 x', { width: 80, height: 24, offset: 0, color: false });
  assert.equal(gone[3], '  (no R or D thread now)');
  const evil = renderTopDetail(m, m.rows.find((x) => x.pid === 7000)!, 'process 7000 evil\x1b[2J', {
    width: 80,
    height: 24,
    offset: 0,
    color: false,
  });
  assert.ok(!evil.join('\n').includes('\x1b'), 'titles and comms are escaped');
});

test("top cause column and detail: a capture's evidence of a biting io limit relabels its cgroup's block I/O waits 'cgroup'", () => {
  // postgres 4100 (3 threads in direct-I/O reads) in a cgroup whose blkio limit bit before the capture.
  const s: Snapshot = {
    ...snap('top/bpf-mixed.json'),
    evidence: {
      window_ms: 1000,
      devices: [],
      memory: null,
      cgroups: [
        {
          path: '/system.slice/postgresql.service',
          limit: 'io',
          detail: 'io: 1.0 MiB/s of a 1 MiB/s read limit on 254:0',
          at_limit: true,
          hierarchy: 'v1',
          ratio: 1,
          rate: 0,
          dev: '254:0',
          pids: [4100],
        },
      ],
    },
  };
  const m = buildTopModel({ snap: s, pressure, grouping: 'process', blocked: null, trigger: TRIGGER });
  assert.equal(m.rows.find((r) => r.pid === 4100)!.cause, 'cgroup');
  // Not in the limit's pids: its own cause; the same stack outside the cgroup keeps block-io.
  assert.equal(m.rows.find((r) => r.pid === 4200)!.cause, 'lock');
  assert.equal(m.rows.find((r) => r.pid === 7000)!.cause, 'block-io');
  const lines = renderTopDetail(m, m.rows.find((r) => r.pid === 4100)!, 'process 4100 postgres', {
    width: 80,
    height: 24,
    offset: 0,
    color: false,
  });
  assert.equal(lines[3], 'tid 4100  D  cgroup  pid 4100 postgres');
  // Without the evidence the same capture says block-io, as before.
  assert.equal(model('top/bpf-mixed.json', 'process', null).rows.find((r) => r.pid === 4100)!.cause, 'block-io');
});

test('top before a first capture: the reason (escaped, cut to the width) and how to quit', () => {
  const lines = renderTopWaiting('refresh failed: cannot read /proc/x\x1b[2J', { width: 40, height: 5 });
  assert.equal(lines.length, 5);
  assert.equal(lines[0], 'loadmon top  refresh failed: cannot read');
  assert.equal(lines[4], 'q quit');
  assert.match(renderTopWaiting('', { width: 80, height: 3 })[0]!, /capturing/);
});
