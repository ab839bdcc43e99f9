/**
 * PSI triggers beside the load rule: the kernel watches the stall time
 * (/proc/pressure/*, Documentation/accounting/psi.rst) and the native waiter
 * (native/waiter.c) turns its POLLPRI into a line; this watcher turns the line
 * into a capture under the load watcher's gate, so one --cooldown holds for
 * every trigger together. Between events it costs nothing: no timer of its own.
 */

import type { LoadmonError } from '../errors.ts';
import type { PsiTriggerSpec } from '../model/options.ts';
import type { PressureResource } from '../model/pressure.ts';
import type { Snapshot, Trigger } from '../model/snapshot.ts';
import type { StatusLog, Watcher } from './watch.ts';

/** What the waiter client (src/trigger/waiter.ts, WaiterClient) offers for PSI. */
export interface PsiEventSource {
  addPsi(req: { id: string; resource: PressureResource; kind: 'some' | 'full'; stallUs: number; windowUs: number }): Promise<void>;
  onPsi(cb: (id: string, tMs: number) => void): void;
  onPsiGone(cb: (id: string) => void): void;
  onExit(cb: (err: LoadmonError) => void): void;
}

/** A watcher that can take a capture for another trigger under its own gate (ThresholdWatcher). */
export interface GatedWatcher extends Watcher {
  nextDelay(nowMs: number): number;
  captureFor(make: (base: Trigger) => Trigger, nowMs: number): Promise<Snapshot> | null;
}

/** The trigger of a capture fired by `spec`: the load fields, reason psi, and which trigger. */
export function psiTrigger(base: Trigger, spec: PsiTriggerSpec): Trigger {
  return {
    ...base,
    reason: 'psi',
    psi: { resource: spec.resource, kind: spec.kind, stall_ms: spec.stallUs / 1000, window_ms: spec.windowUs / 1000 },
  };
}

export class PsiWatcher implements Watcher {
  /** The first trigger that fired since the last check (the kernel sends at most one event per window per trigger). */
  private fired: PsiTriggerSpec | null = null;
  private failure: LoadmonError | null = null;
  private wake: () => void = () => {};

  constructor(
    private readonly inner: GatedWatcher,
    source: PsiEventSource,
    private readonly specs: readonly PsiTriggerSpec[],
    log: StatusLog | null,
  ) {
    source.onPsi((id) => this.onEvent(id));
    source.onPsiGone((id) => log?.(`PSI trigger ${this.specOf(id)?.text ?? id} stopped: the kernel dropped it`));
    source.onExit((err) => {
      this.failure = err;
      this.wake();
    });
  }

  /** The waiter's id of the i-th spec. */
  static idOf(i: number): string {
    return String(i + 1);
  }

  private specOf(id: string): PsiTriggerSpec | undefined {
    return this.specs[Number(id) - 1];
  }

  private onEvent(id: string): void {
    const spec = this.specOf(id);
    if (!spec) return;
    this.fired ??= spec;
    this.wake();
  }

  /**
   * A pending event captures if the shared cooldown allows; an event inside
   * the cooldown is dropped (while the stall lasts, the kernel fires again
   * each window). Otherwise the load rule decides.
   */
  poll(nowMs: number): Snapshot | null | Promise<Snapshot | null> {
    // Without the waiter the PSI triggers are deaf: say so rather than watch on without them.
    if (this.failure) throw this.failure;
    const spec = this.fired;
    this.fired = null;
    const snap = spec ? this.inner.captureFor((base) => psiTrigger(base, spec), nowMs) : null;
    return snap ?? this.inner.poll(nowMs);
  }

  /** At once when an event came during a capture (the loop could not check then), else the load rule's pace. */
  nextDelay(nowMs: number): number {
    return this.fired ? 0 : this.inner.nextDelay(nowMs);
  }

  onWake(wake: () => void): void {
    this.wake = wake;
    this.inner.onWake?.(wake);
  }

  /** The source belongs to the inner watcher (the waiter it sleeps on): closed with it. */
  close(): void {
    this.inner.close();
  }
}
