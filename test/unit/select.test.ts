/**
 * Which collector `--source auto` picks, per command and options (issue 11,
 * item 9): a one-shot snapshot takes procfs (or the module) unless it asks
 * for something only bpf has; watch and record take bpf. The facts about
 * the machine are injected, so every case runs on any host.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chooseSource, type SourceFacts, snapshotNeeds, WATCH_NEEDS } from '../../src/collect/select.ts';

const BPF_WORKS = null;
const NOT_ROOT = 'loading BPF programs needs root (run loadmon as root)';

function facts(
  over: Partial<Omit<SourceFacts, 'bpfUnavailable'>> & { bpf?: string | null } = {},
): SourceFacts & { bpfAsked: () => number } {
  let asked = 0;
  const why = over.bpf === undefined ? BPF_WORKS : over.bpf;
  return {
    kmodLoaded: over.kmodLoaded ?? false,
    liveProc: over.liveProc ?? true,
    bpfUnavailable: () => {
      asked++;
      return why;
    },
    bpfAsked: () => asked,
  };
}

test('auto: a one-shot snapshot takes procfs even where bpf works, and does not say bpf was passed over', () => {
  const f = facts();
  assert.deepEqual(chooseSource('auto', snapshotNeeds(null), f), { source: 'procfs', bpfSkipped: null });
  assert.deepEqual(chooseSource('auto', snapshotNeeds(0), f), { source: 'procfs', bpfSkipped: null });
  assert.deepEqual(chooseSource('auto', snapshotNeeds(null), facts({ bpf: NOT_ROOT })), { source: 'procfs', bpfSkipped: null });
});

test('auto: a one-shot snapshot takes the module when it is loaded', () => {
  assert.equal(chooseSource('auto', snapshotNeeds(null), facts({ kmodLoaded: true })).source, 'kmod');
});

test('auto: a snapshot that asks for user stacks (--profile) takes bpf, also over the module', () => {
  assert.deepEqual(chooseSource('auto', snapshotNeeds(500), facts()), { source: 'bpf', bpfSkipped: null });
  assert.deepEqual(chooseSource('auto', snapshotNeeds(500), facts({ kmodLoaded: true })), { source: 'bpf', bpfSkipped: null });
});

test('auto: user stacks asked where bpf cannot work: procfs, saying why', () => {
  assert.deepEqual(chooseSource('auto', snapshotNeeds(500), facts({ bpf: NOT_ROOT })), { source: 'procfs', bpfSkipped: NOT_ROOT });
  assert.deepEqual(chooseSource('auto', snapshotNeeds(500), facts({ bpf: NOT_ROOT, kmodLoaded: true })).source, 'kmod');
});

test('auto: watch and record take bpf where it works, the module first when loaded', () => {
  assert.deepEqual(chooseSource('auto', WATCH_NEEDS, facts()), { source: 'bpf', bpfSkipped: null });
  assert.deepEqual(chooseSource('auto', WATCH_NEEDS, facts({ kmodLoaded: true })), { source: 'kmod', bpfSkipped: null });
  assert.deepEqual(chooseSource('auto', WATCH_NEEDS, facts({ bpf: NOT_ROOT })), { source: 'procfs', bpfSkipped: NOT_ROOT });
});

test('auto: bpf is never picked for a proc tree other than the live /proc', () => {
  const f = facts({ liveProc: false });
  assert.deepEqual(chooseSource('auto', WATCH_NEEDS, f), { source: 'procfs', bpfSkipped: null });
  assert.deepEqual(chooseSource('auto', snapshotNeeds(500), f), { source: 'procfs', bpfSkipped: null });
  assert.equal(f.bpfAsked(), 0);
});

test('a source given by name is used as given, whatever the command', () => {
  for (const choice of ['procfs', 'kmod', 'bpf'] as const) {
    for (const needs of [snapshotNeeds(null), snapshotNeeds(500), WATCH_NEEDS]) {
      assert.deepEqual(chooseSource(choice, needs, facts({ bpf: NOT_ROOT })), { source: choice, bpfSkipped: null });
    }
  }
});
