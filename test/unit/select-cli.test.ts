/**
 * The source a one-shot `loadmon snapshot` actually uses on this machine,
 * run from the sources as a user runs it (issue 11, item 9): under --source
 * auto, procfs (the module if loaded) without notes about bpf; bpf only when
 * --profile asks for user stacks and bpf can work here.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { bpfUnavailable } from '../../src/bpf/availability.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const KMOD_LOADED = existsSync('/proc/load_monitor');

function snapshot(...args: string[]): Snapshot {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'snapshot', '--json', ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Snapshot;
}

test('snapshot without --source: procfs (or the loaded module), with no note about bpf', () => {
  const s = snapshot();
  assert.equal(s.source, KMOD_LOADED ? 'kmod' : 'procfs');
  assert.ok(!s.notes.some((n) => /eBPF/.test(n)), s.notes.join(' | '));
});

test('snapshot --profile (user stacks): bpf where it works, else procfs saying why', () => {
  const why = bpfUnavailable();
  const s = snapshot('--profile', '200ms');
  if (why === null) {
    assert.equal(s.source, 'bpf');
    assert.equal(s.capture.profile_ms, 200);
  } else {
    assert.notEqual(s.source, 'bpf');
    assert.ok(
      s.notes.some((n) => n.includes('eBPF collector was not used')),
      s.notes.join(' | '),
    );
  }
});
