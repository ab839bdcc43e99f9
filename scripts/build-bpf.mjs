#!/usr/bin/env node
// Builds the eBPF helper (bpf/loadmon.bpf.c + bpf/helper/*.c ->
// bpf/build/loadmon-bpf, for the architecture of `uname -m`: bpf/Makefile)
// when its toolchain is installed; otherwise says, in one line, what is missing and succeeds:
// the rest of loadmon works without it, and `--source bpf` then exits 2
// naming the packages to install.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = 'clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev';

function which(cmd) {
  // bpftool lives in /usr/sbin, which is not on an ordinary user's PATH.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return join(d, cmd);
    } catch {
      /* next */
    }
  }
  return null;
}

const missing = [];
const clang = which('clang');
const bpftool = which('bpftool');
if (!clang) missing.push('clang');
if (!bpftool) missing.push('bpftool');
if (!which('cc') && !which('gcc')) missing.push('a C compiler (gcc)');
if (!existsSync('/usr/include/bpf/libbpf.h')) missing.push('libbpf-dev');
if (!existsSync('/usr/include/libelf.h')) missing.push('libelf-dev');
if (!existsSync('/usr/include/zlib.h')) missing.push('zlib1g-dev');
if (missing.length > 0) {
  console.log(`build-bpf: skipped, missing ${missing.join(', ')} (apt-get install ${PACKAGES}); --source bpf will be unavailable`);
  process.exit(0);
}
if (!existsSync('/sys/kernel/btf/vmlinux')) {
  console.log('build-bpf: skipped, this kernel has no BTF (/sys/kernel/btf/vmlinux); --source bpf will be unavailable');
  process.exit(0);
}
// The helper's sources compile in parallel (a dozen files, each including the skeleton).
const jobs = `-j${Math.min(8, availableParallelism())}`;
const r = spawnSync('make', ['-s', jobs, '-C', join(ROOT, 'bpf'), `BPFTOOL=${bpftool}`, `CLANG=${clang}`], { stdio: 'inherit' });
if (r.error) {
  console.log(`build-bpf: skipped, cannot run make (${r.error.message}); --source bpf will be unavailable`);
  process.exit(0);
}
process.exit(r.status ?? 1);
