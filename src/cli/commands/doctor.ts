/**
 * `loadmon doctor [--json]`: which collectors and features work on this
 * machine, and for each that does not, why and the one fix. The facts come
 * from the same code the collectors use to decide (bpf/availability.ts,
 * kmod/control.ts); the verdicts from analyze/doctor.ts. Exit 1 only when
 * procfs itself cannot work.
 */

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { type DoctorFacts, doctorExit, doctorReport, doctorText, type RecordFacts } from '../../analyze/doctor.ts';
import { bpfFacts } from '../../bpf/availability.ts';
import { chooseSource, machineFacts, WATCH_NEEDS } from '../../collect/select.ts';
import { describeStoreFailure } from '../../errors.ts';
import { escapeText } from '../../format/escape.ts';
import { defaultKdir, status } from '../../kmod/control.ts';
import { parseCgroupMounts } from '../../procfs/cgroup-limits.ts';
import { PRESSURE_RESOURCES } from '../../procfs/pressure.ts';
import { strideFor } from '../../record/budget.ts';
import { measureLightScan } from '../../record/sampler.ts';
import { write } from '../output.ts';
import { DEFAULT_DB, parseCpuBudget, RECORD_DEFAULTS } from '../store-options.ts';

export function doctorCommand(o: { json?: boolean }): void {
  const report = doctorReport(gatherFacts());
  if (o.json) write(`${JSON.stringify(report, null, 2)}\n`);
  else write(doctorText(report).split('\n').map(escapeText).join('\n'));
  process.exitCode = doctorExit(report);
}

export function gatherFacts(): DoctorFacts {
  const k = status();
  const procfs = procfsFacts();
  return {
    kernel: k.kernel,
    uid: process.geteuid?.() ?? -1,
    procfs,
    kmod: { module_support: k.module_support, headers: k.headers, kdir: defaultKdir(), built: k.built, loaded: k.loaded },
    bpf: bpfFacts(),
    psi: PRESSURE_RESOURCES.filter((r) => readable(`/proc/pressure/${r}`)),
    cgroups: cgroupFacts(),
    store: storeFacts(DEFAULT_DB),
    record: recordFacts(procfs.ok),
  };
}

/**
 * The source `record --source auto` would take (the same rule), and one
 * light scan of the threads alive now, measured as the recorder measures
 * it; the stride is what the default budget would allow the scan alone.
 */
function recordFacts(procfsOk: boolean): RecordFacts {
  const { source, bpfSkipped } = chooseSource('auto', WATCH_NEEDS, machineFacts('/proc'));
  if (!procfsOk) return { source, bpfSkipped, scan: null };
  const { threads, cpuMs } = measureLightScan('/proc');
  const budgetPct = parseCpuBudget(RECORD_DEFAULTS.cpuBudget) ?? 1;
  return { source, bpfSkipped, scan: { threads, cpuMs, budgetPct, stride: strideFor(cpuMs, budgetPct, 1000) } };
}

/** What every collector reads first: the load, the CPUs, and the task list. */
function procfsFacts(): DoctorFacts['procfs'] {
  try {
    if (!/^\d+\.\d+ /.test(readFileSync('/proc/loadavg', 'utf8'))) return { ok: false, why: '/proc/loadavg is not what the kernel writes' };
    readFileSync('/proc/stat', 'utf8');
    readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    return { ok: true };
  } catch (err) {
    return { ok: false, why: describeStoreFailure(err) };
  }
}

function readable(path: string): boolean {
  try {
    readFileSync(path, 'utf8');
    return true;
  } catch {
    return false;
  }
}

/** Mounted hierarchies; a v2 one with the controllers its root offers. */
function cgroupFacts(): DoctorFacts['cgroups'] {
  let mounts: ReturnType<typeof parseCgroupMounts> = [];
  try {
    mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return [];
  }
  return mounts.map((m) => {
    if (m.version === 1) return { version: 1, mountPoint: m.mountPoint, controllers: m.controllers };
    let controllers: string[] = [];
    try {
      controllers = readFileSync(`${m.mountPoint}/cgroup.controllers`, 'utf8').split(/\s+/).filter(Boolean);
    } catch {
      /* none readable */
    }
    return { version: 2, mountPoint: m.mountPoint, controllers };
  });
}

/** `record` creates the store's directory: the nearest existing ancestor must be writable, or the file itself. */
export function storeFacts(path: string): DoctorFacts['store'] {
  let dir = existsSync(path) ? path : dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return { path, writable: true, why: null };
  } catch (err) {
    return { path, writable: false, why: `${dir}: ${describeStoreFailure(err)}` };
  }
}
