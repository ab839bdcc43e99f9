/**
 * The monitoring-plugin answer of `loadmon check` (src/analyze/check.ts):
 * status from load1 against the thresholds, the text part from a verdict,
 * perfdata in the guidelines' format, hostile names kept out of the
 * perfdata separator and the line. Verdicts come from the verdict fixture
 * captures (the capture verdict a live check computes) and from hand-made
 * lines for the exact wording.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { captureVerdict } from '../../src/analyze/capture-verdict.ts';
import { type CheckInput, type CheckResult, checkResult, decideStatus, unknownResult, verdictSummary } from '../../src/analyze/check.ts';
import { withDeadline } from '../../src/cli/commands/check.ts';
import type { VerdictLine } from '../../src/model/report.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { verdictFixtures } from '../helpers/web.ts';

function fixture(name: string): Snapshot {
  const f = verdictFixtures().find((x) => x.name === name);
  assert.ok(f, `fixture ${name}`);
  return f.snapshot;
}

function inputOf(snap: Snapshot, warning: number, critical: number): CheckInput {
  const r = snap.tasks.filter((t) => t.state === 'R').length;
  return {
    ...snap.loadavg,
    cpus: snap.cpus,
    r,
    d: snap.tasks.length - r,
    verdict: captureVerdict(1, snap),
    warning,
    critical,
  };
}

/** The perfdata of a line, parsed back as the guidelines define it: label=value;warn;crit;min;max. */
function parsePerf(line: string): Map<string, string[]> {
  const parts = line.split(' | ');
  assert.equal(parts.length, 2, `exactly one perfdata separator: ${line}`);
  const out = new Map<string, string[]>();
  for (const item of parts[1]!.split(' ')) {
    const m = /^([a-z0-9]+)=([-0-9.]+)((?:;[-0-9.]*){0,4})$/.exec(item);
    assert.ok(m, `perfdata item ${item}`);
    out.set(m[1]!, [m[2]!, ...m[3]!.split(';').slice(1)]);
  }
  return out;
}

test('status: above critical, above warning, at or below warning (ranges 0..N alert above N)', () => {
  assert.equal(decideStatus(4.01, 2, 4), 'CRITICAL');
  assert.equal(decideStatus(4, 2, 4), 'WARNING');
  assert.equal(decideStatus(2.5, 2, 4), 'WARNING');
  assert.equal(decideStatus(2, 2, 4), 'OK');
  assert.equal(decideStatus(0, 2, 4), 'OK');
});

test('a block-I/O capture: CRITICAL with its cause and first task, exit 2, perfdata with the thresholds', () => {
  const snap = fixture('block-io');
  const res = checkResult(inputOf(snap, 2, 4));
  assert.equal(res.status, 'CRITICAL');
  assert.equal(res.exitCode, 2);
  const worker = snap.tasks.find((t) => t.state === 'D')!;
  assert.match(
    res.line,
    new RegExp(`^LOADMON CRITICAL - load1 5\\.10 \\(2\\.55/cpu\\): D \\d+\\.\\d block I/O \\(${worker.comm} \\d+\\) \\| `),
  );
  const perf = parsePerf(res.line);
  assert.deepEqual(perf.get('load1'), ['5.10', '2', '4', '0']);
  assert.deepEqual(perf.get('load5'), ['2.00', '', '', '0']);
  assert.deepEqual(perf.get('load15'), ['0.90', '', '', '0']);
  assert.equal(perf.get('d')![0], String(snap.tasks.filter((t) => t.state === 'D').length));
  assert.deepEqual(perf.get('d')!.slice(1), ['', '', '0']);
});

test('the same capture under huge thresholds is OK, and between them WARNING (exit 0 and 1)', () => {
  const snap = fixture('vfork');
  const ok = checkResult(inputOf(snap, 100, 200));
  assert.equal(ok.exitCode, 0);
  assert.match(ok.line, /^LOADMON OK - load1 5\.10 .*D \d+\.\d vfork \(/);
  assert.deepEqual(parsePerf(ok.line).get('load1'), ['5.10', '100', '200', '0']);
  const warn = checkResult(inputOf(snap, 5, 6));
  assert.equal(warn.status, 'WARNING');
  assert.equal(warn.exitCode, 1);
});

test('every verdict fixture gives one line, one separator, a D line', () => {
  for (const { name, snapshot } of verdictFixtures()) {
    const res = checkResult(inputOf(snapshot, 1, 2));
    assert.ok(!res.line.includes('\n'), name);
    assert.equal(res.line.split('|').length, 2, `${name}: ${res.line}`);
    assert.match(res.line, /: D \d/, name);
  }
});

function line(kind: VerdictLine['kind'], cause: VerdictLine['cause'], share: number, comm: string | null): VerdictLine {
  const tasks = comm === null ? [] : [{ pid: 4242, tid: 4242, comm, cgroup: null }];
  return { kind, cause, share, text: '', evidence: { stacks: [], tasks, captures: [] } };
}

test('the summary names each verdict line: D by cause, R as CPU, no overload, at most three and a count', () => {
  assert.equal(
    verdictSummary([line('uninterruptible', 'block-io', 5, 'dd'), line('cpu-saturation', null, 1.23, 'stress')]),
    'D 5.0 block I/O (dd 4242), R 1.2 CPU (stress 4242)',
  );
  assert.equal(verdictSummary([line('no-overload', null, 0.4, null)]), 'no overload (R+D 0.4)');
  const many = ['vfork', 'lock', 'memory', 'journal', 'netfs'] as const;
  assert.equal(
    verdictSummary(many.map((c, i) => line('uninterruptible', c, 5 - i, null))),
    'D 5.0 vfork, D 4.0 lock contention, D 3.0 memory pressure, 2 more',
  );
  assert.equal(verdictSummary([]), 'no verdict');
});

test('a hostile comm cannot end the text part, add a line or drive the terminal', () => {
  const res = checkResult({
    load1: 3,
    load5: 2,
    load15: 1,
    cpus: 2,
    r: null,
    d: null,
    verdict: [line('uninterruptible', 'vfork', 3, 'a|b=1;2\n\x1b[2J\\')],
    warning: 1,
    critical: 2,
  });
  assert.equal(
    res.line,
    'LOADMON CRITICAL - load1 3.00 (1.50/cpu): D 3.0 vfork (a\\x7cb=1;2\\x0a\\x1b[2J\\\\ 4242) | ' +
      'load1=3.00;1;2;0 load5=2.00;;;0 load15=1.00;;;0',
  );
});

test('UNKNOWN: exit 3, the message on one line with no perfdata separator', () => {
  const res = unknownResult("invalid value for --warning: 'x|y' (expected a load)\nsecond line");
  assert.equal(res.exitCode, 3);
  assert.equal(res.line, "LOADMON UNKNOWN - invalid value for --warning: 'x\\x7cy' (expected a load)\\x0asecond line");
});

test('the --timeout deadline answers UNKNOWN when the work never ends, and the work when it does', async () => {
  const never = await withDeadline(20, () => new Promise<CheckResult>(() => {}));
  assert.equal(never.exitCode, 3);
  assert.match(never.line, /^LOADMON UNKNOWN - no answer within --timeout 0\.02s$/);
  const done = unknownResult('x');
  assert.equal(await withDeadline(60_000, async () => done), done);
});
