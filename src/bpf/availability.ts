/**
 * Can --source bpf work here? Cheap checks done before starting the helper,
 * so that `--source auto` can pass over bpf silently and `--source bpf` can
 * say exactly what is missing.
 */

import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

import { loadmonEnv } from '../env.ts';
import { PACKAGE_ROOT } from '../paths.ts';
import { BPF_PACKAGES, missingTools } from './toolchain.ts';

export { BPF_PACKAGES };
export const INSTALL_HINT = `install its build tools (apt-get install ${BPF_PACKAGES}) and run npm run build`;
export const PRIVILEGE_HINT = 'loading BPF programs needs root, or CAP_BPF with CAP_PERFMON';

const CAP_SYSLOG = 34n;
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
const BTF_PATH = '/sys/kernel/btf/vmlinux';

/** The helper binary: LOADMON_BPF_HELPER, else bpf/build/loadmon-bpf in the package. */
export function helperPath(): string {
  return loadmonEnv().bpfHelper ?? join(PACKAGE_ROOT, 'bpf', 'build', 'loadmon-bpf');
}

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function has(caps: bigint, c: bigint): boolean {
  return ((caps >> c) & 1n) === 1n;
}

export function hasBpfPrivileges(caps: bigint): boolean {
  return has(caps, CAP_SYS_ADMIN) || (has(caps, CAP_BPF) && has(caps, CAP_PERFMON));
}

/** Why bpf cannot work here, in one sentence, or null when it should. */
export function bpfUnavailable(path = helperPath()): string | null {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `the eBPF helper ${path} is not built: ${INSTALL_HINT}`;
  }
  if (!existsSync(BTF_PATH)) {
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

/** What `loadmon doctor` asks about the eBPF side of this machine; bpfUnavailable() stays the one verdict on bpf. */
export interface BpfFacts {
  helper: { path: string; built: boolean };
  /** Packages of the helper's toolchain not installed here (toolchain.ts). */
  missing_packages: string[];
  btf: boolean;
  /** The kernel has lock:contention_begin/end (5.19+), looked up in its BTF as the helper does; null without BTF. */
  lock_tracepoints: boolean | null;
  caps: { cap_sys_admin: boolean; cap_bpf: boolean; cap_perfmon: boolean; cap_syslog: boolean };
  /** Where tracefs is mounted, or null. */
  tracefs: string | null;
  kptr_restrict: number | null;
  /** /proc/kallsyms shows this process real addresses (kptr_restrict and privileges allow symbolisation). */
  kallsyms_addresses: boolean;
  perf_event_paranoid: number | null;
  /** bpfUnavailable(): why --source bpf cannot work here, or null. */
  unavailable: string | null;
}

export function bpfFacts(): BpfFacts {
  const path = helperPath();
  let caps = 0n;
  try {
    caps = effectiveCaps();
  } catch {
    /* treated as none */
  }
  const btf = existsSync(BTF_PATH);
  return {
    helper: { path, built: isExecutable(path) },
    missing_packages: missingTools().map((t) => t.package),
    btf,
    lock_tracepoints: btf ? btfHasName('btf_trace_contention_begin') : null,
    caps: {
      cap_sys_admin: has(caps, CAP_SYS_ADMIN),
      cap_bpf: has(caps, CAP_BPF),
      cap_perfmon: has(caps, CAP_PERFMON),
      cap_syslog: has(caps, CAP_SYSLOG),
    },
    tracefs: tracefsMount(readOr('/proc/self/mountinfo', '')),
    kptr_restrict: intOrNull(readOr('/proc/sys/kernel/kptr_restrict', '')),
    kallsyms_addresses: kallsymsShowsAddresses(readHead('/proc/kallsyms', 4096)),
    perf_event_paranoid: intOrNull(readOr('/proc/sys/kernel/perf_event_paranoid', '')),
    unavailable: bpfUnavailable(path),
  };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The kernel BTF blob is a few MiB; more than this is not read. */
const MAX_BTF_BYTES = 64 * 1024 * 1024;

/** A type name in the BTF string table (NUL-terminated on both sides), as btf__find_by_name_kind would find it. */
function btfHasName(name: string): boolean | null {
  try {
    const buf = readFileSync(BTF_PATH);
    if (buf.length > MAX_BTF_BYTES) return null;
    return buf.indexOf(Buffer.from(`\0${name}\0`)) >= 0;
  } catch {
    return null;
  }
}

/** tracefs's mount point from /proc/self/mountinfo ("... mountpoint opts - tracefs src opts"), or null. */
export function tracefsMount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0 || line.slice(sep + 3).split(' ')[0] !== 'tracefs') continue;
    const mp = line.slice(0, sep).split(' ')[4];
    if (mp !== undefined) return mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return null;
}

/** The first kallsyms line's address is not all zeros: this reader may see kernel addresses. */
export function kallsymsShowsAddresses(head: string): boolean {
  const m = /^([0-9a-f]+) /.exec(head);
  return m !== null && /[1-9a-f]/.test(m[1]!);
}

export function intOrNull(text: string): number | null {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : null;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** The first `bytes` of a file that may be huge (kallsyms: ~10 MiB). */
function readHead(path: string, bytes: number): string {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, null)).toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
