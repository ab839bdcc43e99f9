/**
 * The interactive `loadmon top`: one refresh loop (a capture, then the
 * tracking's blocked time with bpf, then a draw), keys that act on the last
 * capture at once (moving, grouping and opening need no new capture), and
 * the trigger: a refresh whose load1 passes the gate is kept as a capture,
 * like `s`. Captures never overlap: the loop waits for one to finish before
 * it sleeps for what is left of the interval, so a slow capture delays the
 * next refresh instead of piling up.
 */

import { buildTopModel, nextGrouping, type TopBlocked, type TopGrouping, type TopModel } from '../../analyze/top-rows.ts';
import type { BlockedTracking } from '../../collect/bpf-tracking.ts';
import type { Collector } from '../../collect/collector.ts';
import { renderTopDetail, renderTopScreen, renderTopWaiting } from '../../format/top-screen.ts';
import type { Pressure, PressureResource } from '../../model/pressure.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { type CaptureGate, loadRuleTrigger } from '../../trigger/gate.ts';
import type { ScreenSize, TopKey } from './screen.ts';

export interface LiveTopOptions {
  intervalMs: number;
  depth: number;
  grouping: TopGrouping;
  color: boolean;
  /** The threshold as given (`3`, `0.75/cpu`), for the kept captures' trigger. */
  thresholdSpec: string;
}

/** What the loop needs of the terminal (TtyScreen; a recording fake in the unit tests). */
export interface TopScreen {
  open(onKey: (k: TopKey) => void, onResize: () => void): void;
  draw(lines: readonly string[]): void;
  size(): ScreenSize;
}

export interface LiveTopDeps {
  collector: Collector;
  tracking: BlockedTracking | null;
  gate: CaptureGate;
  pressure: () => Partial<Record<PressureResource, Pressure>>;
  screen: TopScreen;
  /** `--db`: stores a kept capture, and says what became of it (for the status line). */
  store?: (snap: Snapshot) => string;
}

/** Captures kept for printing at exit; beyond this the oldest are dropped (and counted). */
export const MAX_KEPT = 20;

interface Detail {
  key: string;
  title: string;
  offset: number;
}

export class LiveTop {
  private snap: Snapshot | null = null;
  private blocked: TopBlocked | null = null;
  private model: TopModel | null = null;
  private grouping: TopGrouping;
  private selected = 0;
  /** The selected row's key: the selection follows its row when the ranking changes between refreshes. */
  private selectedKey: string | null = null;
  private detail: Detail | null = null;
  private paused = false;
  private status = '';
  private quitting = false;
  private captureAsked = false;
  private wake: (() => void) | null = null;
  readonly kept: Snapshot[] = [];
  dropped = 0;
  private taken = 0;
  private lastTaken: string | null = null;

  constructor(
    private readonly deps: LiveTopDeps,
    private readonly opts: LiveTopOptions,
  ) {
    this.grouping = opts.grouping;
  }

  /** Runs until `q`/Ctrl-C. */
  async run(): Promise<void> {
    this.deps.screen.open(
      (k) => this.onKey(k),
      () => this.draw(),
    );
    this.draw();
    while (!this.quitting) {
      const started = performance.now();
      if (!this.paused || this.captureAsked) await this.refresh();
      if (this.quitting) break;
      // `s` pressed during the refresh found no sleep to cut short: take it now.
      if (this.captureAsked) continue;
      await this.sleep(Math.max(0, this.opts.intervalMs - (performance.now() - started)));
    }
  }

  private async refresh(): Promise<void> {
    const asked = this.captureAsked;
    this.captureAsked = false;
    try {
      const snap = await this.deps.collector.capture({ depth: this.opts.depth });
      const sample = this.deps.tracking ? await this.deps.tracking.sample() : null;
      this.blocked = sample?.offcpu ? { windowMs: sample.offcpu.windowMs, entries: sample.offcpu.entries } : null;
      this.snap = snap;
      this.status = '';
      this.keepIfDue(snap, asked);
    } catch (err) {
      // A failed refresh keeps the last screen; the next one tries again.
      this.status = `refresh failed: ${(err as Error).message}`;
    }
    this.rebuild();
  }

  /** `s`, or load1 over the threshold with the cooldown passed: this capture is kept. */
  private keepIfDue(snap: Snapshot, asked: boolean): void {
    const load1 = snap.loadavg.load1;
    const crossed = this.deps.gate.check(load1, Date.now());
    if (!asked && !crossed) return;
    this.taken++;
    this.lastTaken = snap.time;
    const kept: Snapshot = crossed
      ? { ...snap, trigger: loadRuleTrigger(this.deps.gate, this.opts.thresholdSpec, load1, this.taken) }
      : snap;
    this.kept.push(kept);
    if (this.kept.length > MAX_KEPT) {
      this.kept.shift();
      this.dropped++;
    }
    const stored = this.deps.store?.(kept);
    this.status = `capture ${this.taken} kept${crossed ? ' (threshold)' : ''}${stored ? `; ${stored}` : ''}`;
  }

  private rebuild(): void {
    if (!this.snap) return;
    const gate = this.deps.gate;
    this.model = buildTopModel({
      snap: this.snap,
      pressure: this.deps.pressure(),
      grouping: this.grouping,
      blocked: this.blocked,
      trigger: {
        threshold: gate.threshold,
        // Whole seconds: the header is redrawn every refresh, milliseconds would only flicker.
        cooldown_ms: Math.ceil(gate.cooldownLeft(Date.now()) / 1000) * 1000,
        captures: this.taken,
        last_capture: this.lastTaken,
      },
    });
    const rows = this.model.rows;
    const at = this.selectedKey === null ? -1 : rows.findIndex((r) => r.key === this.selectedKey);
    this.selected = at >= 0 ? at : Math.min(this.selected, Math.max(0, rows.length - 1));
    this.selectedKey = rows[this.selected]?.key ?? null;
    this.draw();
  }

  private draw(): void {
    const m = this.model;
    const { width, height } = this.deps.screen.size();
    if (!m) {
      // No capture yet (the first one failed): say why instead of leaving an empty screen.
      this.deps.screen.draw(renderTopWaiting(this.status, { width, height }));
      return;
    }
    const common = { width, height, color: this.opts.color, paused: this.paused, status: this.status };
    if (this.detail) {
      const row = m.rows.find((r) => r.key === this.detail!.key) ?? null;
      this.deps.screen.draw(renderTopDetail(m, row, this.detail.title, { ...common, offset: this.detail.offset }));
      return;
    }
    this.deps.screen.draw(renderTopScreen(m, { ...common, selected: m.rows.length ? this.selected : null, keys: true }));
  }

  private onKey(k: TopKey): void {
    switch (k) {
      case 'quit':
        this.quitting = true;
        this.wakeUp();
        return;
      case 'capture':
        this.captureAsked = true;
        this.wakeUp();
        return;
      case 'pause':
        this.paused = !this.paused;
        if (!this.paused) this.wakeUp();
        break;
      case 'group':
        this.grouping = nextGrouping(this.grouping);
        this.selected = 0;
        this.selectedKey = null;
        this.detail = null;
        this.rebuild();
        return;
      default:
        this.navigate(k);
    }
    this.draw();
  }

  private navigate(k: 'up' | 'down' | 'open' | 'back'): void {
    const rows = this.model?.rows ?? [];
    if (this.detail) {
      if (k === 'back') this.detail = null;
      else if (k === 'up') this.detail.offset = Math.max(0, this.detail.offset - 1);
      else if (k === 'down') this.detail.offset++;
      return;
    }
    if (k === 'up') this.selected = Math.max(0, this.selected - 1);
    else if (k === 'down') this.selected = Math.max(0, Math.min(rows.length - 1, this.selected + 1));
    this.selectedKey = rows[this.selected]?.key ?? null;
    if (k === 'open' && rows[this.selected]) {
      const row = rows[this.selected]!;
      const what = row.pid !== null ? `process ${row.pid} ${row.label}` : `${this.grouping} ${row.label}`;
      this.detail = { key: row.key, title: what, offset: 0 };
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private wakeUp(): void {
    this.wake?.();
  }
}
