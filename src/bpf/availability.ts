/**
 * Can --source bpf work here? Cheap checks done before starting the helper,
 * so that `--source auto` can pass over bpf silently and `--source bpf` can
 * say exactly what is missing.
 */

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadmonEnv } from '../env.ts';
import { PACKAGE_ROOT } from '../paths.ts';

export const BPF_PACKAGES = 'clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev';
export const INSTALL_HINT = `install its build tools (apt-get install ${BPF_PACKAGES}) and run npm run build`;
export const PRIVILEGE_HINT = 'loading BPF programs needs root, or CAP_BPF with CAP_PERFMON';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** The helper binary: LOADMON_BPF_HELPER, else bpf/build/loadmon-bpf in the package. */
export function helperPath(): string {
  return loadmonEnv().bpfHelper ?? join(PACKAGE_ROOT, 'bpf', 'build', 'loadmon-bpf');
}

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function hasBpfPrivileges(caps: bigint): boolean {
  const has = (c: bigint): boolean => ((caps >> c) & 1n) === 1n;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

/** Why bpf cannot work here, in one sentence, or null when it should. */
export function bpfUnavailable(path = helperPath()): string | null {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `the eBPF helper ${path} is not built: ${INSTALL_HINT}`;
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    return 'the kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing); a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed';
  }
  let caps = 0n;
  try {
    caps = effectiveCaps();
  } catch {
    /* treated as none */
  }
  if (!hasBpfPrivileges(caps)) return `${PRIVILEGE_HINT} (run loadmon as root)`;
  return null;
}
