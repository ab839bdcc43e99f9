/**
 * `loadmon doctor`'s verdicts (src/analyze/doctor.ts) on injected facts: each
 * check's state, why and fix; the collectors; the exit status; the text and
 * the JSON schema. Also the small parsers it reads facts with
 * (bpf/availability.ts) and the shared toolchain list (bpf/toolchain.ts).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { type DoctorCheck, type DoctorFacts, doctorExit, doctorReport, doctorText } from '../../src/analyze/doctor.ts';
import { intOrNull, kallsymsShowsAddresses, tracefsMount } from '../../src/bpf/availability.ts';
import { BPF_PACKAGES, BPF_TOOLCHAIN, missingTools } from '../../src/bpf/toolchain.ts';
import { assertSchema, nonSnakeKeys } from '../helpers/json-schema.ts';

/** This host as root: bpf works, modules do not. */
function rootFacts(): DoctorFacts {
  return {
    kernel: '6.18.0',
    uid: 0,
    procfs: { ok: true },
    kmod: { module_support: false, headers: null, kdir: '/lib/modules/6.18.0/build', built: false, loaded: false },
    bpf: {
      helper: { path: '/pkg/bpf/build/loadmon-bpf', built: true },
      missing_packages: [],
      btf: true,
      lock_tracepoints: true,
      caps: { cap_sys_admin: true, cap_bpf: true, cap_perfmon: true, cap_syslog: true },
      tracefs: '/sys/kernel/tracing',
      kptr_restrict: 0,
      kallsyms_addresses: true,
      perf_event_paranoid: 2,
      unavailable: null,
    },
    psi: ['cpu', 'io', 'memory'],
    cgroups: [
      { version: 1, mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
      { version: 1, mountPoint: '/sys/fs/cgroup/systemd', controllers: ['name=systemd'] },
      { version: 2, mountPoint: '/sys/fs/cgroup/unified', controllers: [] },
    ],
    store: { path: '/var/lib/loadmon/loadmon.db', writable: true, why: null },
  };
}

function get(f: DoctorFacts, id: string): DoctorCheck {
  const c = doctorReport(f).checks.find((x) => x.id === id);
  assert.ok(c, id);
  return c;
}

test('root on this kind of host: bpf works, the module does not (CONFIG_MODULES off, with what to do instead)', () => {
  const f = rootFacts();
  const r = doctorReport(f);
  assert.deepEqual(
    r.collectors.map((c) => [c.name, c.works]),
    [
      ['procfs', true],
      ['bpf', true],
      ['kmod', false],
    ],
  );
  assert.match(r.collectors[2]!.why!, /CONFIG_MODULES off/);
  const mod = get(f, 'module_support');
  assert.equal(mod.state, 'fail');
  assert.match(mod.why!, /CONFIG_MODULES off/);
  assert.match(mod.fix!, /--source bpf/);
  assert.equal(get(f, 'kernel_headers').state, 'skip');
  assert.equal(get(f, 'module_built').state, 'skip');
  for (const id of ['procfs', 'kernel_stacks', 'bpf_privileges', 'btf', 'bpf_packages', 'bpf_helper', 'lock_tracepoints', 'psi', 'store']) {
    assert.deepEqual([id, get(f, id).state, get(f, id).fix], [id, 'ok', null]);
  }
  assert.equal(get(f, 'perf_event_paranoid').state, 'ok', 'CAP_PERFMON bypasses paranoid 2');
  assert.match(get(f, 'cgroups').found, /^v1 memory; v2 at \/sys\/fs\/cgroup\/unified \(no controllers\)$/);
  assert.equal(doctorExit(r), 0);
});

test('an unprivileged user: bpf, stacks, kallsyms, perf events and the store fail, each with its fix', () => {
  const f = rootFacts();
  f.uid = 65534;
  f.bpf.caps = { cap_sys_admin: false, cap_bpf: false, cap_perfmon: false, cap_syslog: false };
  f.bpf.kallsyms_addresses = false;
  f.bpf.unavailable = 'loading BPF programs needs root, or CAP_BPF with CAP_PERFMON (run loadmon as root)';
  f.store = { path: '/var/lib/loadmon/loadmon.db', writable: false, why: '/var/lib: permission denied' };
  const r = doctorReport(f);
  assert.match(r.collectors.find((c) => c.name === 'bpf')!.why!, /needs root, or CAP_BPF/);
  assert.equal(get(f, 'bpf_privileges').found, 'uid 65534, no capabilities');
  assert.match(get(f, 'bpf_privileges').fix!, /sudo loadmon/);
  assert.match(get(f, 'kernel_stacks').why!, /CAP_SYS_ADMIN/);
  assert.match(get(f, 'kptr_restrict').why!, /CAP_SYSLOG/);
  assert.equal(get(f, 'perf_event_paranoid').fix, 'sysctl -w kernel.perf_event_paranoid=0');
  assert.equal(get(f, 'store').why, '/var/lib: permission denied');
  assert.equal(doctorExit(r), 0, 'procfs still works');
});

test('CAP_BPF with CAP_PERFMON is enough for bpf without root', () => {
  const f = rootFacts();
  f.uid = 1000;
  f.bpf.caps = { cap_sys_admin: false, cap_bpf: true, cap_perfmon: true, cap_syslog: false };
  assert.equal(get(f, 'bpf_privileges').state, 'ok');
  assert.equal(get(f, 'bpf_privileges').found, 'CAP_BPF, CAP_PERFMON');
  assert.equal(get(f, 'kernel_stacks').state, 'fail');
});

test('a fresh checkout without clang: the missing packages and the one apt-get, then npm run build', () => {
  const f = rootFacts();
  f.bpf.missing_packages = ['clang', 'bpftool'];
  f.bpf.helper.built = false;
  assert.equal(get(f, 'bpf_packages').fix, 'apt-get install --no-install-recommends clang bpftool');
  assert.equal(get(f, 'bpf_packages').found, 'missing clang, bpftool');
  assert.equal(get(f, 'bpf_helper').fix, 'npm run build');
});

test('kernel features: no BTF, no lock tracepoints, kptr_restrict 2, no tracefs, no PSI, no cgroups', () => {
  const f = rootFacts();
  f.bpf.btf = false;
  f.bpf.lock_tracepoints = null;
  f.bpf.kptr_restrict = 2;
  f.bpf.kallsyms_addresses = false;
  f.bpf.tracefs = null;
  f.psi = [];
  f.cgroups = [{ version: 1, mountPoint: '/sys/fs/cgroup/systemd', controllers: ['name=systemd'] }];
  assert.match(get(f, 'btf').fix!, /CONFIG_DEBUG_INFO_BTF=y/);
  assert.equal(get(f, 'lock_tracepoints').found, 'unknown (no BTF)');
  assert.equal(get(f, 'kptr_restrict').fix, 'sysctl -w kernel.kptr_restrict=1');
  assert.equal(get(f, 'tracefs').fix, 'mount -t tracefs nodev /sys/kernel/tracing');
  assert.equal(get(f, 'psi').fix, 'boot with psi=1 on the kernel command line');
  assert.equal(get(f, 'cgroups').fix, 'mount -t cgroup2 none /sys/fs/cgroup');
});

test('module support: headers and the build are checked, with their fixes', () => {
  const f = rootFacts();
  f.kmod = { module_support: true, headers: null, kdir: '/lib/modules/6.1.0-9-amd64/build', built: false, loaded: false };
  f.kernel = '6.1.0-9-amd64';
  assert.equal(get(f, 'kernel_headers').fix, 'apt-get install linux-headers-6.1.0-9-amd64');
  assert.equal(get(f, 'module_built').fix, 'loadmon kmod build');
  assert.match(doctorReport(f).collectors[2]!.why!, /not loaded/);
});

test('procfs unreadable is the one failure that makes doctor exit non-zero', () => {
  const f = rootFacts();
  f.procfs = { ok: false, why: 'ENOENT: no such file or directory' };
  const r = doctorReport(f);
  assert.equal(doctorExit(r), 1);
  assert.equal(get(f, 'procfs').fix, 'mount -t proc proc /proc');
});

test('text: one line per check, why/needed by/fix under a failure; JSON: the schema, snake_case', () => {
  const r = doctorReport(rootFacts());
  const text = doctorText(r);
  assert.match(text, /^ {2}fail {2}module_support {7}CONFIG_MODULES off\n {8}why: .*\n {8}needed by: --source kmod\n {8}fix: /m);
  assert.match(text, /^ {2}ok {4}btf /m);
  assertSchema('doctor.schema.json', r, 'doctor report');
  assert.deepEqual(nonSnakeKeys(r), []);
});

test('fact parsers: tracefs from mountinfo (octal escapes), kallsyms addresses, integers', () => {
  const mi = '23 1 0:21 / /sys rw - sysfs sysfs rw\n40 23 0:12 / /sys/kernel/trac\\040ing rw - tracefs nodev rw\n';
  assert.equal(tracefsMount(mi), '/sys/kernel/trac ing');
  assert.equal(tracefsMount('23 1 0:21 / /sys rw - sysfs sysfs rw\n'), null);
  assert.equal(kallsymsShowsAddresses('0000000000000000 A fixed_percpu_data\n'), false);
  assert.equal(kallsymsShowsAddresses('ffffffff81000000 T _stext\n'), true);
  assert.equal(kallsymsShowsAddresses(''), false);
  assert.equal(intOrNull('-1\n'), -1);
  assert.equal(intOrNull('x'), null);
});

test('the toolchain list: the apt-get packages, and what is missing when nothing is on the PATH', () => {
  assert.equal(BPF_PACKAGES, 'clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev gcc');
  const none = missingTools(() => null).map((t) => t.package);
  // With no command found, only the header-file checks can pass: the command packages are all missing.
  for (const t of BPF_TOOLCHAIN.filter((x) => x.commands)) assert.ok(none.includes(t.package), t.package);
});
