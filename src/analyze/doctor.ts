/**
 * `loadmon doctor`: from the facts of one machine (gathered by the adapters:
 * bpf/availability.ts, kmod/control.ts, and the command), which collectors
 * and features work, and for each thing that does not, why and the one
 * command (or step) that fixes it. Pure: tests inject the facts.
 */

import type { BpfFacts } from '../bpf/availability.ts';
import type { CgroupMount } from '../procfs/cgroup-limits.ts';

export const DOCTOR_SCHEMA = 'loadmon.doctor/v1';

export interface DoctorFacts {
  kernel: string;
  uid: number;
  /** /proc/loadavg, /proc/stat and /proc/self/task were read; else what failed. */
  procfs: { ok: true } | { ok: false; why: string };
  kmod: { module_support: boolean; headers: string | null; kdir: string; built: boolean; loaded: boolean };
  bpf: BpfFacts;
  /** /proc/pressure/{cpu,io,memory} that could be read. */
  psi: string[];
  cgroups: Array<Pick<CgroupMount, 'version' | 'mountPoint' | 'controllers'>>;
  store: { path: string; writable: boolean; why: string | null };
  /** Absent: not gathered (the report's `record` is then null). */
  record?: RecordFacts;
}

/** What `record --source auto` would run with here, and one procfs light scan measured now. */
export interface RecordFacts {
  source: 'procfs' | 'bpf' | 'kmod';
  /** Why auto passed over bpf (it wanted it), else null. */
  bpfSkipped: string | null;
  /** The scan (null when procfs could not be read); `stride`: where --cpu-budget's scan share alone would put it. */
  scan: { threads: number; cpuMs: number; budgetPct: number; stride: number } | null;
}

/** The doctor's `record` section: the source auto picks, why, and what a procfs light scan costs here. */
export interface RecordAdvice {
  source: RecordFacts['source'];
  why: string;
  light_scan: { threads: number; cpu_ms: number; core_pct_at_1s: number; budget_pct: number; stride: number } | null;
}

export type CheckState = 'ok' | 'fail' | 'skip';

export interface DoctorCheck {
  id: string;
  state: CheckState;
  /** What was found, in a few words. */
  found: string;
  /** Why it is not ok (state fail or skip), else null. */
  why: string | null;
  /** The one command or step that fixes it, else null. */
  fix: string | null;
  /** What loadmon loses without it. */
  needed_by: string;
}

export interface CollectorState {
  name: 'procfs' | 'bpf' | 'kmod';
  works: boolean;
  why: string | null;
}

export interface DoctorReport {
  schema: typeof DOCTOR_SCHEMA;
  kernel: string;
  uid: number;
  collectors: CollectorState[];
  checks: DoctorCheck[];
  record: RecordAdvice | null;
}

const PRIVILEGE_FIX = 'run loadmon as root: sudo loadmon <command>';

function check(id: string, ok: boolean, found: string, why: string, fix: string | null, neededBy: string): DoctorCheck {
  return { id, state: ok ? 'ok' : 'fail', found, why: ok ? null : why, fix: ok ? null : fix, needed_by: neededBy };
}

export function doctorReport(f: DoctorFacts): DoctorReport {
  return {
    schema: DOCTOR_SCHEMA,
    kernel: f.kernel,
    uid: f.uid,
    collectors: collectors(f),
    checks: [procfsCheck(f), stacksCheck(f), ...kmodChecks(f), ...bpfChecks(f), ...kernelChecks(f), storeCheck(f)],
    record: f.record ? recordAdvice(f.record) : null,
  };
}

/** The --source auto rule for record, said in words, and the light scan's cost rounded for people. */
export function recordAdvice(r: RecordFacts): RecordAdvice {
  const why =
    r.source === 'kmod'
      ? 'the load_monitor module is loaded: --source auto records from its captures'
      : r.source === 'bpf'
        ? 'bpf works here: --source auto records with it (a task-iterator pass at every sample costs ~0.25% of a core' +
          ' at any thread count, with the time blocked in D; the procfs light scan below is what it avoids)'
        : `--source auto records with procfs: ${bpfWhy(r.bpfSkipped)}`;
  const s = r.scan;
  return {
    source: r.source,
    why,
    light_scan: s && {
      threads: s.threads,
      cpu_ms: Math.round(s.cpuMs * 10) / 10,
      core_pct_at_1s: Math.round((s.cpuMs / 1000) * 100 * 100) / 100,
      budget_pct: s.budgetPct,
      stride: s.stride,
    },
  };
}

function collectors(f: DoctorFacts): CollectorState[] {
  const kmodWhy = !f.kmod.module_support
    ? 'this kernel has no loadable module support (CONFIG_MODULES off)'
    : !f.kmod.loaded
      ? 'load_monitor is not loaded (loadmon kmod build, loadmon kmod load)'
      : null;
  return [
    { name: 'procfs', works: f.procfs.ok, why: f.procfs.ok ? null : f.procfs.why },
    { name: 'bpf', works: f.bpf.unavailable === null, why: f.bpf.unavailable },
    { name: 'kmod', works: kmodWhy === null, why: kmodWhy },
  ];
}

function procfsCheck(f: DoctorFacts): DoctorCheck {
  const why = f.procfs.ok ? '' : f.procfs.why;
  return check('procfs', f.procfs.ok, f.procfs.ok ? '/proc readable' : 'unreadable', why, 'mount -t proc proc /proc', 'everything');
}

function isPrivileged(f: DoctorFacts): boolean {
  return f.uid === 0 || f.bpf.caps.cap_sys_admin;
}

function stacksCheck(f: DoctorFacts): DoctorCheck {
  const ok = isPrivileged(f);
  const found = ok ? (f.uid === 0 ? 'root' : 'CAP_SYS_ADMIN') : `uid ${f.uid} without CAP_SYS_ADMIN`;
  return check(
    'kernel_stacks',
    ok,
    found,
    '/proc/PID/stack needs CAP_SYS_ADMIN',
    PRIVILEGE_FIX,
    'kernel stacks (procfs), and so the causes',
  );
}

function kmodChecks(f: DoctorFacts): DoctorCheck[] {
  const k = f.kmod;
  const support = check(
    'module_support',
    k.module_support,
    k.module_support ? 'CONFIG_MODULES on' : 'CONFIG_MODULES off',
    'this kernel has no loadable module support (CONFIG_MODULES off): no module can be loaded on it',
    'use --source bpf or procfs, which need no module; the module needs a kernel built with CONFIG_MODULES=y',
    '--source kmod',
  );
  const skip = (id: string): DoctorCheck => ({
    id,
    state: 'skip',
    found: 'not checked',
    why: 'no module support',
    fix: null,
    needed_by: '--source kmod',
  });
  if (!k.module_support) return [support, skip('kernel_headers'), skip('module_built')];
  return [
    support,
    check(
      'kernel_headers',
      k.headers !== null,
      k.headers ?? `none at ${k.kdir}`,
      `no kernel build tree at ${k.kdir}`,
      `apt-get install linux-headers-${f.kernel}`,
      'loadmon kmod build',
    ),
    check(
      'module_built',
      k.built,
      k.built ? (k.loaded ? 'built and loaded' : 'built, not loaded') : 'not built',
      'kernel/load_monitor.ko is not built',
      'loadmon kmod build',
      '--source kmod',
    ),
  ];
}

function bpfChecks(f: DoctorFacts): DoctorCheck[] {
  const b = f.bpf;
  const c = b.caps;
  const priv = c.cap_sys_admin || (c.cap_bpf && c.cap_perfmon);
  const capsText = Object.entries(c)
    .filter(([, v]) => v)
    .map(([k]) => k.toUpperCase())
    .join(', ');
  return [
    check(
      'bpf_privileges',
      priv,
      f.uid === 0 ? 'root' : capsText || `uid ${f.uid}, no capabilities`,
      'loading BPF programs needs root, or CAP_BPF with CAP_PERFMON',
      PRIVILEGE_FIX,
      '--source bpf',
    ),
    check(
      'btf',
      b.btf,
      b.btf ? '/sys/kernel/btf/vmlinux' : 'no /sys/kernel/btf/vmlinux',
      'the kernel exposes no BTF; the helper is built and loaded against it (CO-RE)',
      'boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian 11 and later kernels are)',
      '--source bpf',
    ),
    check(
      'bpf_packages',
      b.missing_packages.length === 0,
      b.missing_packages.length === 0 ? 'all installed' : `missing ${b.missing_packages.join(', ')}`,
      'the eBPF helper cannot be built without them',
      `apt-get install --no-install-recommends ${b.missing_packages.join(' ')}`,
      'building the eBPF helper',
    ),
    check(
      'bpf_helper',
      b.helper.built,
      b.helper.built ? b.helper.path : `${b.helper.path} missing`,
      'the eBPF helper is not built',
      'npm run build',
      '--source bpf',
    ),
    check(
      'lock_tracepoints',
      b.lock_tracepoints === true,
      b.lock_tracepoints === null ? 'unknown (no BTF)' : b.lock_tracepoints ? 'lock:contention_begin/end' : 'absent',
      'lock:contention_begin/end came with Linux 5.19',
      'boot a kernel of 5.19 or later',
      'lock holders in the verdict (--source bpf)',
    ),
    check(
      'tracefs',
      b.tracefs !== null,
      b.tracefs ?? 'not mounted',
      'tracefs is not mounted (loadmon attaches through BTF and does not need it; perf, bpftrace and by-hand tracing do)',
      'mount -t tracefs nodev /sys/kernel/tracing',
      'tracing by hand (not loadmon)',
    ),
    kptrCheck(f),
    paranoidCheck(f, priv),
  ];
}

function kptrCheck(f: DoctorFacts): DoctorCheck {
  const v = f.bpf.kptr_restrict;
  return check(
    'kptr_restrict',
    f.bpf.kallsyms_addresses,
    `kernel.kptr_restrict = ${v ?? 'unknown'}${f.bpf.kallsyms_addresses ? '' : ', /proc/kallsyms shows zero addresses'}`,
    v === 2
      ? 'kptr_restrict 2 hides kernel addresses even from root'
      : '/proc/kallsyms shows addresses only to CAP_SYSLOG (or, with kptr_restrict 0, when perf_event_paranoid <= 1)',
    v === 2 ? 'sysctl -w kernel.kptr_restrict=1' : PRIVILEGE_FIX,
    'kernel frame names of --source bpf stacks',
  );
}

function paranoidCheck(f: DoctorFacts, privileged: boolean): DoctorCheck {
  const v = f.bpf.perf_event_paranoid;
  // CAP_PERFMON (or CAP_SYS_ADMIN) bypasses perf_event_paranoid; unprivileged, CPU-wide events need <= 0.
  const ok = privileged || (v !== null && v <= 0);
  return check(
    'perf_event_paranoid',
    ok,
    `kernel.perf_event_paranoid = ${v ?? 'unknown'}${privileged ? ' (bypassed: CAP_PERFMON)' : ''}`,
    'CPU-wide perf events need CAP_PERFMON, or perf_event_paranoid <= 0',
    'sysctl -w kernel.perf_event_paranoid=0',
    'on-CPU sampling, user stacks of R tasks (--source bpf --profile)',
  );
}

function kernelChecks(f: DoctorFacts): DoctorCheck[] {
  const v1 = f.cgroups.filter((c) => c.version === 1 && c.controllers.some((x) => !x.startsWith('name=')));
  const v2 = f.cgroups.filter((c) => c.version === 2);
  const parts = [
    ...(v1.length > 0 ? [`v1 ${v1.flatMap((c) => c.controllers).join(',')}`] : []),
    ...v2.map((c) => `v2 at ${c.mountPoint}${c.controllers.length > 0 ? ` (${c.controllers.join(',')})` : ' (no controllers)'}`),
  ];
  const v2Controllers = v2.some((c) => c.controllers.length > 0);
  return [
    check(
      'psi',
      f.psi.length === 3,
      f.psi.length > 0 ? `/proc/pressure/${f.psi.join(',')}` : 'no /proc/pressure',
      'no pressure stall information (CONFIG_PSI off, or disabled by default)',
      'boot with psi=1 on the kernel command line',
      'PSI in the timeline and memory/io stall evidence',
    ),
    check(
      'cgroups',
      v1.length > 0 || v2Controllers,
      parts.join('; ') || 'none mounted',
      'no cgroup hierarchy with controllers is mounted',
      'mount -t cgroup2 none /sys/fs/cgroup',
      'cgroup of each task and cgroup-limit evidence',
    ),
  ];
}

function storeCheck(f: DoctorFacts): DoctorCheck {
  const s = f.store;
  return check(
    'store',
    s.writable,
    s.writable ? `${s.path} writable` : `${s.path} not writable`,
    s.why ?? 'not writable',
    PRIVILEGE_FIX.replace('<command>', 'record'),
    'loadmon record (or --db elsewhere)',
  );
}

/** Exit status: only a machine where procfs itself cannot work is a failure. */
export function doctorExit(r: DoctorReport): number {
  return r.collectors.find((c) => c.name === 'procfs')?.works ? 0 : 1;
}

/** The report for people: the collectors, then one line per check, and under a failure its why and fix. */
export function doctorText(r: DoctorReport): string {
  const lines = [`loadmon doctor: kernel ${r.kernel}, uid ${r.uid}`, 'collectors:'];
  for (const c of r.collectors) lines.push(`  ${c.name.padEnd(7)} ${c.works ? 'works' : `no: ${c.why}`}`);
  lines.push('checks:');
  for (const c of r.checks) {
    lines.push(`  ${c.state.padEnd(5)} ${c.id.padEnd(20)} ${c.found}`);
    if (c.state === 'fail') lines.push(`        why: ${c.why}`, `        needed by: ${c.needed_by}`, `        fix: ${c.fix}`);
  }
  if (r.record) lines.push(...recordText(r.record));
  return `${lines.join('\n')}\n`;
}

function recordText(r: RecordAdvice): string[] {
  const lines = [`record: ${r.source}`, `  ${r.why}`];
  const s = r.light_scan;
  if (s) {
    const thins =
      s.stride > 1
        ? `thins it to one scan every ${s.stride} samples or sparser (the rest of record counts toward the budget too)`
        : 'leaves it at every sample unless the rest of record fills the budget';
    lines.push(
      `  a procfs light scan of ${s.threads} threads costs ${s.cpu_ms.toFixed(1)} ms of CPU here ` +
        `(${s.core_pct_at_1s.toFixed(2)}% of a core at one scan a second); --cpu-budget ${s.budget_pct}% (the default) ${thins}`,
    );
  }
  return lines;
}

function bpfWhy(skipped: string | null | undefined): string {
  return skipped ? `bpf cannot be used (${skipped})` : 'bpf is not considered for this proc tree';
}
