import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LiveTop, MAX_KEPT, type TopScreen } from '../../src/cli/tty/live.ts';
import type { TopKey } from '../../src/cli/tty/screen.ts';
import type { Collector } from '../../src/collect/collector.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { CaptureGate } from '../../src/trigger/gate.ts';
import { fixture } from '../helpers/fixtures.ts';

/** The fixture's capture, with load1 as given, once per call. */
class FixtureCollector implements Collector {
  readonly source = 'bpf' as const;
  calls = 0;
  constructor(private readonly load1: number[]) {}
  async capture(): Promise<Snapshot> {
    const snap = JSON.parse(fixture('top/bpf-mixed.json')) as Snapshot;
    snap.loadavg = { ...snap.loadavg, load1: this.load1[Math.min(this.calls, this.load1.length - 1)]! };
    this.calls++;
    return snap;
  }
  close(): void {}
}

/** Records every frame; keys are pressed through the callback the loop registered. */
class RecordingScreen implements TopScreen {
  frames: string[][] = [];
  press: (k: TopKey) => void = () => {};
  open(onKey: (k: TopKey) => void): void {
    this.press = onKey;
  }
  draw(lines: readonly string[]): void {
    this.frames.push([...lines]);
  }
  size(): { width: number; height: number } {
    return { width: 80, height: 24 };
  }
  get last(): string[] {
    return this.frames.at(-1) ?? [];
  }
  /** Waits (bounded) for a frame that satisfies `ok`. */
  async until(ok: (lines: string[]) => boolean, what: string): Promise<string[]> {
    for (let i = 0; i < 500; i++) {
      if (ok(this.last)) return this.last;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`no frame with ${what}; last:\n${this.last.join('\n')}`);
  }
}

function start(load1: number[]): { live: LiveTop; screen: RecordingScreen; collector: FixtureCollector; done: Promise<void> } {
  const screen = new RecordingScreen();
  const collector = new FixtureCollector(load1);
  // A long interval: every refresh after the first is one a key asked for.
  const live = new LiveTop(
    { collector, tracking: null, gate: new CaptureGate(3, 60_000), screen, pressure: () => ({}) },
    { intervalMs: 600_000, depth: 20, grouping: 'process', color: false, thresholdSpec: '3' },
  );
  return { live, screen, collector, done: live.run() };
}

test('live top: load1 over the threshold keeps the refresh as a capture with its trigger; the cooldown holds the next', async (t) => {
  const { live, screen, collector, done } = start([9.4, 9.4, 1.0]);
  t.after(() => screen.press('quit'));
  const first = await screen.until((l) => /capture 1 kept \(threshold\)/.test(l[0] ?? ''), 'the threshold capture');
  assert.match(first[4]!, /^trigger threshold 3\.00 {2}cooldown left 1m {2}captures 1 {2}last 13:17:52Z$/);
  screen.press('capture');
  await screen.until(
    () => collector.calls === 2 && /capture 2 kept$/.test(screen.last[0] ?? ''),
    's: a second capture, not the threshold (cooldown)',
  );
  screen.press('quit');
  await done;
  assert.equal(live.kept.length, 2);
  assert.deepEqual(
    [
      live.kept[0]!.trigger?.reason,
      live.kept[0]!.trigger?.load1,
      live.kept[0]!.trigger?.capture_index,
      live.kept[0]!.trigger?.threshold_spec,
    ],
    ['load1>=threshold', 9.4, 1, '3'],
  );
  assert.equal(live.kept[1]!.trigger, null, 'a capture taken with s has no trigger');
});

test('live top: keys act on the last capture (move, group, open, back, pause) without a new one', async (t) => {
  const { screen, collector, done } = start([1.0]);
  t.after(() => screen.press('quit'));
  await screen.until((l) => /^> .* 4100 postgres$/.test(l[6] ?? ''), 'the first table');
  screen.press('down');
  assert.match(screen.last[7]!, /^> /, 'the selection moved down');
  screen.press('up');
  screen.press('open');
  assert.equal(screen.last[2], 'process 4100 postgres  0 R  3 D');
  assert.equal(screen.last[3], 'tid 4100  D  block-io  pid 4100 postgres');
  screen.press('back');
  screen.press('group');
  assert.match(screen.last[0]!, /by cgroup$/);
  screen.press('pause');
  assert.match(screen.last[0]!, /PAUSED/);
  assert.equal(collector.calls, 1, 'no capture for keys');
  screen.press('quit');
  await done;
});

test('live top: at most MAX_KEPT captures are kept, the oldest dropped and counted', async (t) => {
  const { live, screen, collector, done } = start([1.0]);
  t.after(() => screen.press('quit'));
  await screen.until(() => collector.calls === 1, 'the first refresh');
  for (let i = 0; i < MAX_KEPT + 2; i++) {
    screen.press('capture');
    await screen.until(() => live.kept.length + live.dropped === i + 1, `capture ${i + 1}`);
  }
  screen.press('quit');
  await done;
  assert.equal(live.kept.length, MAX_KEPT);
  assert.equal(live.dropped, 2);
});
