import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { effectiveCaps, hasBpfPrivileges } from '../../src/bpf/availability.ts';
import { choosePath, parseHierarchies } from '../../src/bpf/cgroups.ts';
import { ElfError, ElfSymbols } from '../../src/bpf/elf.ts';
import { KernelSymbols } from '../../src/bpf/kallsyms.ts';
import {
  parseMapFailure,
  parseMapLine,
  parseReady,
  parseSampleLine,
  parseSnapshotEnd,
  parseTaskLine,
  parseUserStackLine,
} from '../../src/bpf/protocol.ts';
import { parsePerfMap, UserSymbolizer } from '../../src/bpf/usersym.ts';
import { LoadmonError } from '../../src/errors.ts';
import { FIXTURES, fixture } from '../helpers/fixtures.ts';

const lines = fixture('bpf', 'helper-output.txt').trimEnd().split('\n');

test('helper protocol: ready and fatal lines', () => {
  assert.deepEqual(parseReady(lines[0]!), { version: 1, cpus: 2, pass: 'iter-task', locks: false });
  assert.deepEqual(parseReady('ready 2 cpus=8 pass=task-list'), { version: 2, cpus: 8, pass: 'task-list', locks: false });
  assert.deepEqual(parseReady('ready 3 cpus=2 pass=task-list locks=1'), { version: 3, cpus: 2, pass: 'task-list', locks: true });
  assert.deepEqual(parseReady('ready 3 cpus=2 pass=iter-task locks=0'), { version: 3, cpus: 2, pass: 'iter-task', locks: false });
  assert.deepEqual(parseReady(lines[lines.length - 1]!), { kind: 'perm', message: 'loading the BPF programs: Operation not permitted' });
  assert.throws(() => parseReady('hello'), LoadmonError);
});

test('helper protocol: task lines (D with blocked time, hostile comm, stack errors, no cgroups)', () => {
  const d = parseTaskLine(lines[1]!);
  assert.equal(d.tid, 4242);
  assert.equal(d.state, 'D');
  assert.equal(d.blockedNs, 3001234567n);
  assert.equal(d.comm, 'loadmon-loadgen');
  assert.deepEqual(d.cgroups, [
    { hierarchy: 0, id: 1n },
    { hierarchy: 4, id: 2774n },
    { hierarchy: 1, id: 1n },
  ]);
  assert.equal(d.stack.length, 4);
  assert.equal(d.stack[0], 0xffffffff81001123n);
  const r = parseTaskLine(lines[2]!);
  assert.equal(r.comm, 'x) R (y');
  assert.equal(r.state, 'R');
  assert.equal(r.blockedNs, null);
  assert.deepEqual(r.stack, []);
  const e = parseTaskLine(lines[3]!);
  assert.equal(e.pid, 4240);
  assert.equal(e.comm, '');
  assert.deepEqual(e.cgroups, []);
  assert.equal(e.stackError, 14);
  assert.deepEqual(parseSnapshotEnd(lines[5]!), { threads: 5123, walkNs: 1100000 });
  for (const bad of [
    't 1 2 S - 61 - -',
    't 1 2 R - 6 - -',
    't 1 2 R - 61 - fffffffg',
    't 1 2 R x 61 - -',
    't 1 2 R - 61 0:a -',
    't 1 2 R',
  ]) {
    assert.throws(
      () => parseTaskLine(bad),
      (err: LoadmonError) => err.code === 'E_BPF_PROTOCOL',
      bad,
    );
  }
});

test('helper protocol: samples, user stacks, maps', () => {
  assert.deepEqual(parseSampleLine(lines[6]!), { tid: 4243, pid: 4243, count: 97, stackId: 12 });
  assert.deepEqual(parseSampleLine(lines[7]!), { tid: 4243, pid: 4243, count: 3, stackId: null });
  const u = parseUserStackLine(lines[9]!);
  assert.equal(u.id, 12);
  assert.deepEqual(u.addrs, [0x5566778899aan, 0x55667788a000n, 0x7f001234abcdn]);
  const m = parseMapLine(lines[11]!);
  assert.deepEqual(m, { pid: 4243, start: 0x555555554000n, end: 0x555555556000n, offset: 0x1000n, path: '/usr/bin/loadmon-fpspin' });
  assert.equal(parseMapLine(lines[12]!).path, '/usr/lib/libc.so.6 (deleted)');
  assert.equal(parseMapLine(lines[13]!).path, '');
  assert.deepEqual(parseMapFailure(lines[14]!), { pid: 4250, reason: 'timeout' });
  assert.throws(() => parseMapLine('m 1 2 3'), LoadmonError);
});

test('kallsyms: func+0xoff/0xsize as /proc/PID/stack prints it; first alias; modules; unknown is null', () => {
  const k = KernelSymbols.parse(fixture('bpf', 'kallsyms'), 'ext4 8192 1 - Live 0xffffffffc0200000\n');
  assert.equal(k.lookup(0xffffffff81001123n), 'kernel_clone+0x93/0x410'); // the data symbol does not cut it short
  assert.equal(k.lookup(0xffffffff81001066n), '__do_sys_vfork_alias_first+0x66/0x90');
  assert.equal(k.lookup(0xffffffff8100159dn), 'do_syscall_64+0xfd/0x290');
  // A return address at the very end of a function belongs to it (lookup at address-1).
  assert.equal(k.lookup(0xffffffff810017aen), 'entry_SYSCALL_64_after_hwframe+0x7e/0x7e');
  assert.equal(k.lookup(0xffffffff81001090n), '__do_sys_vfork_alias_first+0x90/0x90');
  assert.equal(k.lookup(0xffffffffc0200810n), 'ext4_do_writepages+0x10/0x700 [ext4]');
  assert.equal(k.lookup(0xffffffffc0200f10n), 'ext4_sync_file+0x10/0x1100 [ext4]'); // ends where the module does
  assert.equal(k.lookup(0xffffffffc0001410n), 'bpf_prog_0123456789abcdef_on_cpu_sample+0x10/0x1000 [bpf]');
  assert.equal(k.lookup(0xffffffff90000000n), null); // past _etext: not code
  assert.equal(k.lookup(0xffffffff80000000n), null);
  assert.equal(KernelSymbols.parse(fixture('bpf', 'kallsyms-unprivileged')).size, 0);
});

test('cgroups: hierarchies matched to their mounts; path chosen as the procfs collector does', () => {
  const hs = parseHierarchies(fixture('bpf', 'cgroup-hybrid'), fixture('bpf', 'mountinfo-hybrid'));
  const by = new Map(hs.map((h) => [h.id, h]));
  assert.equal(by.get(0)!.mountPoint, '/sys/fs/cgroup/unified dir');
  assert.equal(by.get(1)!.mountPoint, '/sys/fs/cgroup/cpu');
  assert.equal(by.get(9)!.mountPoint, '/sys/fs/cgroup/systemd');
  assert.equal(by.get(9)!.controllers, 'name=systemd');
  const p = (hierarchy: number, controllers: string, path: string) => ({ hierarchy, controllers, path });
  assert.equal(choosePath([p(0, '', '/a.slice'), p(1, 'cpu', '/b')]), '/a.slice');
  assert.equal(choosePath([p(0, '', '/'), p(1, 'cpu', '/b'), p(9, 'name=systemd', '/c')]), '/b');
  assert.equal(choosePath([p(0, '', '/'), p(1, 'cpu', '/'), p(9, 'name=systemd', '/c')]), '/c');
  assert.equal(choosePath([p(0, '', '/'), p(4, 'memory', '/m'), p(8, 'pids', '/p')]), '/p');
  assert.equal(choosePath([p(0, '', '/'), p(4, 'memory', '/')]), '/');
  assert.equal(choosePath([]), null);
});

test('privileges: root, CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN; nothing else', () => {
  assert.equal(hasBpfPrivileges(effectiveCaps('Name:\tx\nCapEff:\t000001ffffffffff\n')), true);
  assert.equal(hasBpfPrivileges((1n << 39n) | (1n << 38n)), true);
  assert.equal(hasBpfPrivileges(1n << 21n), true);
  assert.equal(hasBpfPrivileges(1n << 39n), false);
  assert.equal(hasBpfPrivileges(effectiveCaps('CapEff:\t0000000000000000\n')), false);
  assert.equal(effectiveCaps('nothing'), 0n);
});

test('perf map: sorted entries, names with spaces', () => {
  const e = parsePerfMap('3f00 20 LazyCompile:~main /app/x.js:1\n1000 10 Builtin: Add\ngarbage\n');
  assert.deepEqual(e, [
    { start: 0x1000, size: 0x10, name: 'Builtin: Add' },
    { start: 0x3f00, size: 0x20, name: 'LazyCompile:~main /app/x.js:1' },
  ]);
});

const work = mkdtempSync(join(tmpdir(), 'loadmon-elf-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('ELF symbols of a binary built here: functions found by address, through the PT_LOAD mapping', () => {
  const bin = join(work, 'fpspin');
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', '-o', bin, join(FIXTURES, 'bpf', 'fpspin.c')]);
  const nm = execFileSync('nm', ['--defined-only', bin], { encoding: 'utf8' });
  const addrOf = (name: string): number => parseInt(new RegExp(`^([0-9a-f]+) T ${name}$`, 'm').exec(nm)![1]!, 16);
  const elf = ElfSymbols.load(bin);
  for (const fn of ['loadmon_fp_inner', 'loadmon_fp_middle', 'loadmon_fp_outer', 'main']) {
    const a = addrOf(fn);
    const s = elf.lookup(a + 4);
    assert.equal(s?.name, fn);
    assert.equal(s!.start, a);
    assert.ok(s!.size > 4);
  }
  // Stripped of .symtab, exported functions still come from .dynsym; static ones are gone.
  const stripped = join(work, 'fpspin-stripped');
  execFileSync('gcc', ['-O0', '-rdynamic', '-o', stripped, join(FIXTURES, 'bpf', 'fpspin.c')]);
  execFileSync('strip', [stripped]);
  const st = ElfSymbols.load(stripped);
  const nmd = execFileSync('nm', ['-D', '--defined-only', stripped], { encoding: 'utf8' });
  const inner = parseInt(/^([0-9a-f]+) T loadmon_fp_inner$/m.exec(nmd)![1]!, 16);
  assert.equal(st.lookup(inner + 1)?.name, 'loadmon_fp_inner');

  // A process view: text mapped at a random base with its file offset, as /proc/PID/maps shows it.
  const readelf = execFileSync('readelf', ['-lW', bin], { encoding: 'utf8' });
  const text = readelf
    .split('\n')
    .find((l) => /^\s*LOAD/.test(l) && /R E/.test(l))!
    .trim()
    .split(/\s+/);
  const off = parseInt(text[1]!, 16);
  const vaddr = parseInt(text[2]!, 16);
  const size = parseInt(text[5]!, 16);
  const base = 0x555555554000;
  const map = {
    pid: 1,
    start: BigInt(base + vaddr - (vaddr % 4096)),
    end: BigInt(base + vaddr + size + 4096),
    offset: BigInt(off - (off % 4096)),
    path: bin,
  };
  const inIp = BigInt(base + addrOf('loadmon_fp_inner') + 8);
  const retMiddle = BigInt(base + addrOf('loadmon_fp_middle') + 0x10);
  const [frames] = new UserSymbolizer().symbolize(1, [[inIp, retMiddle, 0x1234n]], [map]);
  assert.match(frames![0]!, /^loadmon_fp_inner\+0x8\/0x[0-9a-f]+ \(fpspin\)$/);
  assert.match(frames![1]!, /^loadmon_fp_middle\+0x10\/0x[0-9a-f]+ \(fpspin\)$/);
  assert.equal(frames![2], '?');
  assert.throws(() => ElfSymbols.load(join(FIXTURES, 'bpf', 'kallsyms')), ElfError);
});
