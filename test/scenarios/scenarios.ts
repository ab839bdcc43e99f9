/**
 * The diagnosis scenarios of issue 10: each injects one known cause of load
 * and says what the FIRST verdict line of the report must name, with which
 * evidence. Shared by the test suite (test/scenario, one short run each) and
 * the accuracy harness (bench/accuracy.ts, many runs).
 */

import type { CauseId } from '../../src/analyze/causes.ts';
import type { Report } from '../../src/model/report.ts';
import type { CgroupSpec, Facts, RunPlan, Source } from './lib.ts';
import { evidenceOf } from './summary.ts';
import { type BlockDevice, blockDeviceOf, type CgroupMount, v1Mount, v2MountFor } from './system.ts';

/** What a check is about: the harness counts hit rates per role. */
export type CheckRole = 'cause' | 'evidence' | 'holder' | 'replay' | 'run';

export interface Check {
  role: CheckRole;
  name: string;
  ok: boolean;
  detail: string;
}

export interface Scenario {
  name: string;
  /** What the first verdict line must say, in words. */
  expect: string;
  /** Why it cannot run on this machine, or null. */
  unavailable: string | null;
  plan: RunPlan;
  /** The checks of one source's report (the replay check is added by evaluate). */
  check: (r: Report, source: Source, facts: Facts) => Check[];
}

/** The end-of-period replay of load1 stays within this of the kernel's. */
export const REPLAY_TOLERANCE = 0.1;

const MIB = 1 << 20;
const PAGECACHE_FILE_MIB = 512;
const MEMCG_LIMIT = 64 * MIB;
const THROTTLE_BPS = 1 * MIB;

// ---------------------------------------------------------------- checks

function first(r: Report): Report['verdict'][number] | undefined {
  return r.verdict[0];
}

function said(r: Report): string {
  const l = first(r);
  return l ? `first line: kind ${l.kind}, cause ${l.cause ?? 'null'}: ${l.text}` : 'no verdict line';
}

function kindIs(r: Report, kind: string): Check {
  return { role: 'cause', name: `first verdict line is ${kind}`, ok: first(r)?.kind === kind, detail: said(r) };
}

function causeIs(r: Report, cause: CauseId): Check {
  const l = first(r);
  return {
    role: 'cause',
    name: `first verdict line names cause ${cause}`,
    ok: l?.kind === 'uninterruptible' && l.cause === cause,
    detail: said(r),
  };
}

/** The end-of-period replay of load1 against the kernel's load1 at the same sample. */
export function replayCheck(r: Report): Check {
  const a = r.attribution.at_end;
  if (!a) return { role: 'replay', name: 'load1 replay within 10%', ok: false, detail: 'no attribution.at_end in the report' };
  const err = a.kernel_load1 > 0 ? Math.abs(a.model_load1 - a.kernel_load1) / a.kernel_load1 : Infinity;
  return {
    role: 'replay',
    name: 'load1 replay within 10%',
    ok: err <= REPLAY_TOLERANCE,
    detail: `model ${a.model_load1.toFixed(2)} vs kernel ${a.kernel_load1.toFixed(2)} (${(err * 100).toFixed(1)}%)`,
  };
}

export function replayError(r: Report): number | null {
  const a = r.attribution.at_end;
  return a && a.kernel_load1 > 0 ? Math.abs(a.model_load1 - a.kernel_load1) / a.kernel_load1 : null;
}

function deviceCheck(r: Report, dev: BlockDevice): Check {
  const d = evidenceOf(first(r)).devices?.[0];
  return {
    role: 'evidence',
    name: `evidence.devices[0] is ${dev.name}`,
    ok: d?.name === dev.name,
    detail: d ? `devices[0]: ${d.name}` : 'no devices in the evidence',
  };
}

function cgroupCheck(r: Report, limit: 'memory' | 'io', path: string): Check {
  const c = evidenceOf(first(r)).cgroups?.[0];
  return {
    role: 'evidence',
    name: `evidence.cgroups[0] is ${path} with limit ${limit}`,
    ok: c?.limit === limit && c.path === path,
    detail: c ? `cgroups[0]: ${c.path} limit ${c.limit}: ${c.detail}` : 'no cgroups in the evidence',
  };
}

function holderChecks(r: Report, pid: number, inode: number): Check[] {
  const link = evidenceOf(first(r)).chain?.[0];
  const h = link?.holder;
  const name = link?.lock.name ?? null;
  return [
    {
      role: 'holder',
      name: `evidence.chain[0].holder.pid is the workload (${pid})`,
      ok: h?.pid === pid,
      detail: link
        ? h
          ? `holder pid ${h.pid} tid ${h.tid} ${h.comm} ${h.state ?? '?'}`
          : 'chain[0] has no holder'
        : 'no chain in the evidence',
    },
    {
      role: 'evidence',
      name: `evidence.chain[0].lock.name names inode ${inode}`,
      ok: name !== null && new RegExp(`\\b${inode}\\b`).test(name),
      detail: link ? `lock ${link.lock.kind} ${name ?? '(no name)'}` : 'no chain in the evidence',
    },
  ];
}

// ---------------------------------------------------------------- the scenarios

function ioDevice(): BlockDevice | string {
  try {
    return blockDeviceOf('/var/tmp');
  } catch (err) {
    return (err as Error).message;
  }
}

function v1(controller: string): CgroupMount | string {
  return v1Mount(controller) ?? `no cgroup v1 hierarchy has the ${controller} controller here`;
}

function memcgScenario(name: string, mount: CgroupMount | string, limitFile: string): Scenario {
  const ok = typeof mount !== 'string';
  const cgroups: CgroupSpec[] = ok
    ? [{ mount, controller: mount.hierarchy === 'v1' ? 'memory' : null, settings: [[limitFile, String(MEMCG_LIMIT)]] }]
    : [];
  return {
    name,
    expect: `cause cgroup, evidence.cgroups[0]: limit memory, the scenario's cgroup (${limitFile} 64 MiB)`,
    unavailable: ok ? null : mount,
    plan: {
      name,
      cgroups,
      workloads: ({ session }, s) => [{ args: ['pagecache', '4', session.pageCacheFile(PAGECACHE_FILE_MIB), String(s)], cgroups: [0] }],
    },
    check: (r, _s, f) => [causeIs(r, 'cgroup'), cgroupCheck(r, 'memory', f.cgroupPaths[0]!)],
  };
}

function throttleScenario(name: string, mount: CgroupMount | string, dev: BlockDevice | string): Scenario {
  const why = typeof mount === 'string' ? mount : typeof dev === 'string' ? dev : null;
  const cgroups: CgroupSpec[] = [];
  if (why === null && typeof mount !== 'string' && typeof dev !== 'string') {
    const v1h = mount.hierarchy === 'v1';
    const setting: [string, string] = v1h
      ? ['blkio.throttle.write_bps_device', `${dev.dev} ${THROTTLE_BPS}`]
      : ['io.max', `${dev.dev} wbps=${THROTTLE_BPS}`];
    cgroups.push({ mount, controller: v1h ? 'blkio' : null, settings: [setting] });
  }
  return {
    name,
    expect: 'cause cgroup, evidence.cgroups[0].limit io (writes throttled to 1 MiB/s)',
    unavailable: why,
    plan: { name, cgroups, workloads: ({ dir }, s) => [{ args: ['dio-write', '4', dir, String(s)], cgroups: [0] }] },
    check: (r, _s, f) => {
      const c = evidenceOf(first(r)).cgroups?.[0];
      return [
        causeIs(r, 'cgroup'),
        {
          role: 'evidence',
          name: 'evidence.cgroups[0].limit is io',
          ok: c?.limit === 'io',
          detail: c
            ? `cgroups[0]: ${c.path} limit ${c.limit}: ${c.detail} (scenario cgroup ${f.cgroupPaths[0]})`
            : 'no cgroups in the evidence',
        },
      ];
    },
  };
}

/** Every scenario, in the order the suite runs them. */
export function scenarios(): Scenario[] {
  const dev = ioDevice();
  const devWhy = typeof dev === 'string' ? dev : null;
  return [
    {
      name: 'cpu',
      expect: 'kind cpu-saturation (4 busy threads on the CPUs)',
      unavailable: null,
      plan: { name: 'cpu', cgroups: [], workloads: (_c, s) => [{ args: ['cpu', '4', String(s)] }] },
      check: (r) => [kindIs(r, 'cpu-saturation')],
    },
    {
      name: 'vfork',
      expect: 'kind uninterruptible, cause vfork (6 parents blocked in vfork)',
      unavailable: null,
      plan: { name: 'vfork', cgroups: [], workloads: (_c, s) => [{ args: ['vfork', '6', String(s)] }] },
      check: (r) => [causeIs(r, 'vfork')],
    },
    {
      name: 'dsync-own',
      expect: `cause block-io, evidence.devices[0] is the device of /var/tmp (${typeof dev === 'string' ? '?' : dev.name})`,
      unavailable: devWhy,
      plan: { name: 'dsync-own', cgroups: [], workloads: ({ dir }, s) => [{ args: ['dsync-own', '6', dir, String(s)] }] },
      check: (r) => [causeIs(r, 'block-io'), deviceCheck(r, dev as BlockDevice)],
    },
    {
      name: 'dsync-shared',
      expect: 'cause lock; bpf: evidence.chain[0] holder is the workload, lock named by the file inode',
      unavailable: devWhy,
      plan: { name: 'dsync-shared', cgroups: [], workloads: ({ dir }, s) => [{ args: ['dsync-shared', '6', `${dir}/shared`, String(s)] }] },
      check: (r, source, f) => [causeIs(r, 'lock'), ...(source === 'bpf' ? holderChecks(r, f.pids[0]!, f.inode) : [])],
    },
    memcgScenario('memcg-v1', v1('memory'), 'memory.limit_in_bytes'),
    memcgScenario('memcg-v2', v2MountFor('memory'), 'memory.max'),
    throttleScenario('blkio-throttle', v1('blkio'), dev),
    throttleScenario('io-max', v2MountFor('io'), dev),
    {
      name: 'mixed',
      expect: 'first line cause vfork (6 D > 3 R), and a cpu-saturation line',
      unavailable: null,
      plan: { name: 'mixed', cgroups: [], workloads: (_c, s) => [{ args: ['cpu', '3', String(s)] }, { args: ['vfork', '6', String(s)] }] },
      check: (r) => [
        causeIs(r, 'vfork'),
        {
          role: 'evidence',
          name: 'a cpu-saturation line is present',
          ok: r.verdict.some((l) => l.kind === 'cpu-saturation'),
          detail: r.verdict.map((l) => `${l.kind}/${l.cause ?? '-'}`).join(', '),
        },
      ],
    },
  ];
}

/** Every check of one source's outcome: the scenario's own, then the replay. */
export function evaluate(sc: Scenario, outcome: Report | Error, source: Source, facts: Facts): Check[] {
  if (outcome instanceof Error)
    return [{ role: 'run', name: `record and report with --source ${source}`, ok: false, detail: outcome.message }];
  return [...sc.check(outcome, source, facts), replayCheck(outcome)];
}
