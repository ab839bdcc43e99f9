/**
 * The eBPF helper's build (bpf/Makefile): the BPF object compiles for x86
 * and arm64 even where only one runs, and holds every program the helper
 * loads; the architecture comes from `uname -m`; the helper compiles without
 * a warning; the C sources pass the kernel's checkpatch where it is
 * installed. Builds into a temporary directory, never into bpf/build.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';

import { ROOT } from '../helpers/fixtures.ts';

const BPF_DIR = join(ROOT, 'bpf');
const tmp = mkdtempSync(join(tmpdir(), 'loadmon-bpf-build-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Every program of loadmon.bpf.c and the section (program type and attach point) it must be in. */
const PROGRAMS: Record<string, string> = {
  dump_tasks: 'iter/task',
  dump_all: 'iter/task',
  on_cpu_sample: 'perf_event',
  on_switch: 'tp_btf/sched_switch',
  on_wakeup: 'tp_btf/sched_wakeup',
  on_lock_begin: 'tp_btf/contention_begin',
  on_lock_end: 'tp_btf/contention_end',
};

function which(cmd: string): string | null {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']) {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return join(d, cmd);
    } catch {
      /* next */
    }
  }
  return null;
}

const clang = which('clang');
const objdump = which('llvm-objdump');
const bpftool = which('bpftool');
const toolsMissing = [!clang && 'clang', !objdump && 'llvm-objdump (llvm)', !bpftool && 'bpftool'].filter(Boolean);
const noTools = toolsMissing.length > 0 ? `needs ${toolsMissing.join(', ')} (apt-get install clang llvm bpftool)` : false;
const noBtf = existsSync('/sys/kernel/btf/vmlinux') ? false : 'this kernel has no BTF (/sys/kernel/btf/vmlinux) to generate vmlinux.h from';

function make(args: string[]): string {
  const r = spawnSync('make', ['-s', '-C', BPF_DIR, `CLANG=${clang}`, `BPFTOOL=${bpftool}`, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make ${args.join(' ')}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

/** Function symbols of a BPF object: name -> section. */
function programsOf(obj: string): Map<string, string> {
  const out = execFileSync(objdump!, ['-t', obj], { encoding: 'utf8' });
  const progs = new Map<string, string>();
  // "0000000000000000 g     F iter/task	00000000000002a8 dump_tasks"
  for (const m of out.matchAll(/^[0-9a-f]+ g\s+F (\S+)\t[0-9a-f]+ (\S+)$/gm)) progs.set(m[2]!, m[1]!);
  return progs;
}

for (const target of ['x86', 'arm64']) {
  test(`the BPF object compiles for ${target} with every program in its section`, { skip: noTools || noBtf }, () => {
    const out = join(tmp, target);
    make([`OUT=${out}`, `ARCH=${target}`, 'object']);
    const obj = join(out, 'loadmon.bpf.o');
    assert.match(execFileSync(objdump!, ['-f', obj], { encoding: 'utf8' }), /file format elf64-bpf/);
    assert.deepEqual(Object.fromEntries(programsOf(obj)), PROGRAMS);
    // bpftool reads its BTF and relocations as the skeleton generator does.
    const skel = execFileSync(bpftool!, ['gen', 'skeleton', obj, 'name', 'loadmon_bpf'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const p of Object.keys(PROGRAMS)) assert.match(skel, new RegExp(`struct bpf_program \\*${p};`));
  });
}

test('ARCH defaults to the kernel name of uname -m, and can be overridden', { skip: noTools || noBtf }, () => {
  const expected = ({ x64: 'x86', arm64: 'arm64' } as Record<string, string>)[arch()];
  const dry = (extra: string[]): string => make([`OUT=${join(tmp, 'dry')}`, '-n', ...extra, 'object']);
  if (expected) assert.match(dry([]), new RegExp(`-D__TARGET_ARCH_${expected} `));
  // The kernel's names and uname -m's are both taken.
  for (const [given, kernel] of [
    ['arm64', 'arm64'],
    ['aarch64', 'arm64'],
    ['x86', 'x86'],
    ['x86_64', 'x86'],
  ]) {
    const cmd = dry([`ARCH=${given}`]);
    assert.match(cmd, new RegExp(`-D__TARGET_ARCH_${kernel} `), given);
    assert.equal(cmd.match(/__TARGET_ARCH_\w+/g)!.length, 1, given);
  }
});

const noHelperBuild =
  noTools ||
  noBtf ||
  (existsSync('/usr/include/bpf/libbpf.h') && existsSync('/usr/include/libelf.h') ? false : 'needs libbpf-dev and libelf-dev');

test('the helper compiles without a warning (-Wall -Wextra -Werror)', { skip: noHelperBuild }, () => {
  const out = join(tmp, 'helper');
  make([`OUT=${out}`, 'CFLAGS=-O2 -Wall -Wextra -Werror']);
  assert.ok(existsSync(join(out, 'loadmon-bpf')));
});

const checkpatch = which('checkpatch.pl') ?? which('checkpatch');

test('the C sources pass checkpatch (kernel coding style)', {
  skip: checkpatch ? false : "checkpatch.pl is not on PATH (it is the Linux source's scripts/checkpatch.pl)",
}, () => {
  const files = [
    ...readdirSync(BPF_DIR).filter((f) => /\.[ch]$/.test(f)),
    ...readdirSync(join(BPF_DIR, 'helper'))
      .filter((f) => /\.[ch]$/.test(f))
      .map((f) => join('helper', f)),
  ];
  assert.ok(files.length > 10, files.join(' '));
  for (const f of files) {
    const r = spawnSync('perl', [checkpatch!, '--no-tree', '-f', '--terse', '--show-types', join(BPF_DIR, f)], { encoding: 'utf8' });
    const problems = r.stdout.split('\n').filter((l) => /: (ERROR|WARNING|CHECK):/.test(l));
    assert.deepEqual(problems, [], f);
  }
});
