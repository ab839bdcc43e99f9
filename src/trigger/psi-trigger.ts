/**
 * Arming `--trigger psi:…`: what the machine must offer (a /proc/pressure
 * file per resource, CAP_SYS_RESOURCE for windows that are not whole 2 s
 * multiples), registering each trigger with the waiter, and wrapping the load
 * watcher in a PsiWatcher. Every refusal happens here, at start, and names
 * --trigger: the kernel's own answer is a bare EINVAL.
 */

import { existsSync } from 'node:fs';

import { invalidOption, LoadmonError, psiUnavailable } from '../errors.ts';
import type { PsiTriggerSpec, WatchOptions } from '../model/options.ts';
import { readRequired } from '../procfs/reader.ts';
import { waiterOf } from './open.ts';
import { TRIGGER_OPTION } from './psi-spec.ts';
import { type GatedWatcher, type PsiEventSource, PsiWatcher } from './psi-watcher.ts';
import type { StatusLog, Watcher } from './watch.ts';

/** include/uapi/linux/capability.h */
const CAP_SYS_RESOURCE = 24;
/**
 * Without CAP_SYS_RESOURCE the kernel (6.5+, "sched/psi: allow unprivileged
 * polling of N*2s period") takes only windows that are multiples of 2 s,
 * served by the averaging worker instead of a real-time poll thread; older
 * kernels refuse unprivileged triggers altogether.
 */
export const UNPRIVILEGED_WINDOW_US = 2_000_000;

/** Whether the CapEff line of a /proc/PID/status text has CAP_SYS_RESOURCE; null without a CapEff line. */
export function hasSysResource(status: string): boolean | null {
  const m = /^CapEff:\s*([0-9a-f]{1,16})$/im.exec(status);
  if (!m) return null;
  return ((BigInt(`0x${m[1]}`) >> BigInt(CAP_SYS_RESOURCE)) & 1n) === 1n;
}

/**
 * Refuses, before anything starts, specs this machine cannot serve: no PSI
 * file (E_PSI_UNAVAILABLE), or a window the kernel refuses without
 * CAP_SYS_RESOURCE (E_INVALID_OPTION). `status`: this process's status text.
 */
export function checkPsiTriggers(specs: readonly PsiTriggerSpec[], procRoot: string, status?: string): void {
  if (specs.length === 0) return;
  const privileged = hasSysResource(status ?? readRequired('/proc/self/status'));
  for (const spec of specs) {
    const path = `${procRoot}/pressure/${spec.resource}`;
    if (!existsSync(path)) throw psiUnavailable(TRIGGER_OPTION, spec.text, path);
    if (privileged === false && spec.windowUs % UNPRIVILEGED_WINDOW_US !== 0) {
      const why = 'without CAP_SYS_RESOURCE the kernel takes only windows that are multiples of 2s, e.g. 150ms/2s';
      throw invalidOption(TRIGGER_OPTION, spec.text, why);
    }
  }
}

/** The load watcher, able to capture for PSI; the module's watcher is refused (it decides its captures in the kernel). */
function gated(w: Watcher, specs: readonly PsiTriggerSpec[]): GatedWatcher {
  const g = w as Partial<GatedWatcher>;
  if (typeof g.captureFor === 'function' && typeof g.nextDelay === 'function') return w as GatedWatcher;
  throw invalidOption(TRIGGER_OPTION, specs[0]!.text, 'the kernel module triggers by itself: PSI triggers need --source procfs or bpf');
}

/**
 * `inner` with the PSI triggers armed on `source`; `inner` itself when there
 * are none. The module's watcher cannot take them: the module decides its
 * captures in the kernel (refused, not half-supported: its cooldown is the
 * module's, which a PSI capture could not share).
 */
export async function armPsiTriggers(
  inner: Watcher,
  specs: readonly PsiTriggerSpec[],
  source: PsiEventSource,
  log: StatusLog | null,
): Promise<Watcher> {
  if (specs.length === 0) return inner;
  const watcher = new PsiWatcher(gated(inner, specs), source, specs, log);
  for (const [i, spec] of specs.entries()) {
    const req = { id: PsiWatcher.idOf(i), resource: spec.resource, kind: spec.kind, stallUs: spec.stallUs, windowUs: spec.windowUs };
    await source.addPsi(req).catch((err: unknown) => {
      throw refusal(spec, err);
    });
  }
  log?.(`PSI triggers armed: ${specs.map((s) => s.text).join(', ')} (beside the load rule; one cooldown for all)`);
  return watcher;
}

/** Reasons of the waiter's that are about the waiter, not the trigger (waiter.ts). */
const WAITER_TROUBLE = new Set(['timeout', 'closed', 'busy']);

/** The waiter refused a trigger: the kernel's reason, as an option error; the waiter's own trouble as it is. */
function refusal(spec: PsiTriggerSpec, err: unknown): unknown {
  if (!(err instanceof LoadmonError) || err.code !== 'E_WAITER') return err;
  const reason = err.fields.reason ?? err.message;
  if (WAITER_TROUBLE.has(reason) || err.fields.path !== undefined) return err;
  return invalidOption(TRIGGER_OPTION, spec.text, `refused: ${reason}`);
}

/**
 * `watcher` with the --trigger psi:… triggers armed, on the native waiter the
 * load watcher already sleeps on (open.ts; Node cannot poll for POLLPRI), so
 * one process serves both; `watcher` itself without any. On failure the
 * watcher is closed, and its waiter with it.
 */
export async function withPsiTriggers(watcher: Watcher, opts: WatchOptions, log: StatusLog | null): Promise<Watcher> {
  const specs = opts.psiTriggers;
  if (specs.length === 0) return watcher;
  try {
    gated(watcher, specs);
    const waiter = waiterOf(watcher);
    if (waiter === null)
      throw invalidOption(TRIGGER_OPTION, specs[0]!.text, 'PSI triggers need the native waiter, which LOADMON_WAITER=off turns off');
    return await armPsiTriggers(watcher, specs, waiter, log);
  } catch (err) {
    watcher.close();
    throw err;
  }
}
