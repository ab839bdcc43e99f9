/**
 * The watch/record wiring (src/trigger/open.ts, moved out of the watch
 * command in issue 12): the eBPF tracking's fallback is worded from the
 * error's fields, not by cutting its message; the watcher's status line goes
 * to the injected log, and nowhere with --quiet (log null).
 */

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { parseWatch } from '../../src/cli/options.ts';
import { BpfCollector } from '../../src/collect/bpf.ts';
import { LoadmonError } from '../../src/errors.ts';
import { openWatcher, startTracking } from '../../src/trigger/open.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

const MISSING_HELPER = join('/nonexistent', 'loadmon-bpf');

test('auto: a helper that cannot start is said once, with its reason and without the error prefix; procfs goes on', async () => {
  const opts = parseWatch({ source: 'auto' });
  const lines: string[] = [];
  const tracking = await startTracking(new BpfCollector({ helperPath: MISSING_HELPER }), opts, false, (l) => lines.push(l));
  assert.equal(tracking, null);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /^the eBPF collector was not used \(.*loadmon-bpf.*\); procfs is used instead$/);
  assert.doesNotMatch(lines[0]!, /source 'bpf' is not available/);
});

test('--source bpf: the same failure is thrown as E_SOURCE_UNAVAILABLE, nothing is logged', async () => {
  const opts = parseWatch({ source: 'bpf' });
  const lines: string[] = [];
  await assert.rejects(
    startTracking(new BpfCollector({ helperPath: MISSING_HELPER }), opts, false, (l) => lines.push(l)),
    (e: unknown) => e instanceof LoadmonError && e.code === 'E_SOURCE_UNAVAILABLE' && e.fields.source === 'bpf',
  );
  assert.deepEqual(lines, []);
});

test('the threshold watcher says what it watches through the log, and nothing when quiet', () => {
  const procRoot = join(FIXTURES, 'proc-tree');
  const opts = parseWatch({ source: 'procfs', procRoot, threshold: '0.5/cpu', interval: '1s' });
  const lines: string[] = [];
  openWatcher(opts, (l) => lines.push(l)).close();
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^watching load1 \(now [\d.]+\) for >= [\d.]+ \(0\.5\/cpu x \d+ CPUs\), every 1s, cooldown 20s, source procfs;/);
  openWatcher(opts, null).close();
});
