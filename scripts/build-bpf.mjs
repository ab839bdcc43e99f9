#!/usr/bin/env node
// Builds the eBPF helper (bpf/loadmon.bpf.c + bpf/helper/*.c ->
// bpf/build/loadmon-bpf, for the architecture of `uname -m`: bpf/Makefile)
// when its toolchain is installed; otherwise says, in one line, what is missing and succeeds:
// the rest of loadmon works without it, and `--source bpf` then exits 2
// naming the packages to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// The toolchain list is loadmon doctor's too (src/bpf/toolchain.ts, compiled by the tsc that runs before
// this script in `npm run build` and `prepare`): one list, so the two never disagree about what is missing.
const { BPF_PACKAGES, missingTools, which } = await import(join(ROOT, 'dist', 'bpf', 'toolchain.js'));
const DOCTOR = 'loadmon doctor says what else is missing';

const missing = missingTools().map((t) => t.package);
if (missing.length > 0) {
  console.log(
    `build-bpf: eBPF helper NOT built, missing ${missing.join(', ')} (apt-get install ${BPF_PACKAGES}); ` +
      `--source bpf will be unavailable; ${DOCTOR}`,
  );
  process.exit(0);
}
const clang = which('clang');
const bpftool = which('bpftool');
if (!existsSync('/sys/kernel/btf/vmlinux')) {
  console.log(
    `build-bpf: eBPF helper NOT built, this kernel has no BTF (/sys/kernel/btf/vmlinux); --source bpf will be unavailable; ${DOCTOR}`,
  );
  process.exit(0);
}
// The helper's sources compile in parallel (a dozen files, each including the skeleton).
const jobs = `-j${Math.min(8, availableParallelism())}`;
const r = spawnSync('make', ['-s', jobs, '-C', join(ROOT, 'bpf'), `BPFTOOL=${bpftool}`, `CLANG=${clang}`], { stdio: 'inherit' });
if (r.error) {
  console.log(`build-bpf: eBPF helper NOT built, cannot run make (${r.error.message}); --source bpf will be unavailable; ${DOCTOR}`);
  process.exit(0);
}
process.exit(r.status ?? 1);
