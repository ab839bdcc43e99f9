/**
 * Every human format, fed data in which EVERY string that a task, the kernel
 * or a store could have written carries terminal escapes, line breaks and
 * Unicode bidi controls, prints none of them raw (issue 11, item 1). The
 * data is poisoned by walking the objects, so a field added later is
 * poisoned too; the report goes through the real pipeline (store, analysis,
 * verdict sentences) so the names inside composed sentences are covered.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { buildReport } from '../../src/analyze/report.ts';
import { chainText } from '../../src/analyze/verdict-text.ts';
import { renderFlameGraph } from '../../src/format/flamegraph.ts';
import { foldSnapshots, formatFolded } from '../../src/format/folded.ts';
import { render } from '../../src/format/index.ts';
import { formatReportText } from '../../src/format/report-text.ts';
import { toSpeedscope } from '../../src/format/speedscope.ts';
import type { Evidence } from '../../src/model/evidence.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { StoreReader } from '../../src/store/reader.ts';
import {
  BUSY_VDA,
  batchAtIoLimit,
  bpfCapture,
  CHARGE,
  DIO_WRITE,
  dwriterTask,
  FLUSH,
  rwsemChain,
  SMALL_AT_MEMORY_LIMIT,
  writeBpfRecording,
} from '../helpers/bpf-fixture.ts';
import { fixture } from '../helpers/fixtures.ts';
import { poisoner } from '../helpers/poison.ts';
import { assertNoUnsafe } from '../helpers/unsafe-chars.ts';
import { checkWellFormedXml } from '../helpers/xml.ts';

/** ESC sequences, CR/LF, a C1 CSI, DEL, NUL, RLO, a line separator, an isolate, a backslash. */
const P = '\x1b[2J\r\n\u009b31m\x7f\x00\u202e\u2028\u2066\\';

/** A deep copy with P around every string (frames: inside), except the enumerations. */
const poison = poisoner({ text: P });

function assertClean(out: string, what: string, clean?: string): void {
  assertNoUnsafe(out, what);
  // A raw LF from a name would forge a line: the poisoned output has exactly the clean one's lines.
  if (clean !== undefined) assert.equal(out.split('\n').length, clean.split('\n').length, `${what}: line count`);
}

const EVIDENCE: Evidence = {
  window_ms: 5000,
  devices: [BUSY_VDA],
  memory: { direct_reclaim_s: 10, pgscan_direct_s: 500, compact_stall_s: 1, major_faults_s: 4, swap_in_s: 2, refaults_s: 30 },
  cgroups: [batchAtIoLimit(), SMALL_AT_MEMORY_LIMIT],
};

const CHAIN = rwsemChain(['io_schedule_timeout+0x1/0x2 [sched]', ...FLUSH], 1);

/** A capture with every optional part: R with a user stack, D in I/O, lock and memcg waits, evidence, chains, notes. */
function richSnapshot(timeMs: number): Snapshot {
  const task = dwriterTask;
  return bpfCapture(timeMs, {
    capture: { ms: 3.2, threads_scanned: 300, walk_ms: 0.4, profile_ms: 2000 },
    tasks: [
      { ...task(10, 10, 'R', [], '/user.slice'), user_stack: ['spin+0x12/0x40 (loadgen)', 'main+0x5/0x80 (loadgen)'], samples: 97 },
      task(20, 21, 'D', FLUSH, '/batch'),
      task(20, 22, 'D', DIO_WRITE, '/batch'),
      { ...task(20, 23, 'D', FLUSH, '/batch'), blocked_ms: 1500 },
      task(30, 31, 'D', CHARGE, '/small'),
      // Outside any limited cgroup: a plain block-I/O line citing the busy device.
      task(40, 41, 'D', FLUSH, '/other'),
      task(40, 42, 'D', FLUSH, '/other'),
    ],
    notes: ['no user stacks: cannot read /proc/PID/maps of 10', 'the task iterator reported: -EFAULT'],
    blocked_recent: {
      window_ms: 60_000,
      mean_d: 2.5,
      stacks: [{ pid: 20, comm: 'dwriter', cgroup: '/batch', stack: FLUSH, blocked_ms: 90_000, ended: 800 }],
      chains: [CHAIN],
    },
    evidence: EVIDENCE,
  });
}

const SNAPSHOTS: Snapshot[] = [
  richSnapshot(Date.parse('2026-12-01T10:01:00Z')),
  ...['vfork', 'lock', 'cgroup', 'memory', 'netfs', 'block-io', 'unknown'].map(
    (n) => JSON.parse(fixture('verdict', `${n}.json`)) as Snapshot,
  ),
];

test('hostile strings: snapshot text and seed print no control or bidi character, and forge no line', () => {
  for (const s of SNAPSHOTS) {
    for (const format of ['text', 'seed'] as const) {
      assertClean(render(poison(s), format, false), `${format} of ${s.host}`, render(s, format, false));
    }
  }
});

test('hostile strings: folded stacks, the SVG flame graph and speedscope names are escaped', () => {
  const clean = foldSnapshots(SNAPSHOTS);
  const folded = foldSnapshots(SNAPSHOTS.map((s) => poison(s)));
  assertClean(formatFolded(folded), 'folded', formatFolded(clean));
  const svg = renderFlameGraph(folded, { title: `capture ${P}`, subtitle: `sub ${P}` });
  assertClean(svg, 'svg');
  checkWellFormedXml(svg);
  assertClean(JSON.stringify(toSpeedscope(folded, `capture ${P}`, 'loadmon test')), 'speedscope');
});

test("hostile strings: a crafted store's task states (enumerations printed as text) are escaped too", () => {
  const states = (prefix: string): Snapshot => {
    const s = richSnapshot(0);
    s.tasks = s.tasks.map((t) => ({ ...t, stack: [], user_stack: [], state: `${prefix}R` as 'R' }));
    return s;
  };
  assertClean(formatFolded(foldSnapshots([states(P)])), 'folded state', formatFolded(foldSnapshots([states('')])));
  assertClean(chainText({ ...CHAIN, holder: { ...CHAIN.holder!, state: `${P}S` } }), 'chain holder state');
});

const dir = mkdtempSync(join(tmpdir(), 'loadmon-escape-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A bpf recording: scans, measured D, evidence and wait-for chains in every sample, and captures. */
function record(path: string, hostile: boolean): void {
  const t0 = Date.parse('2026-12-01T10:00:00Z');
  writeBpfRecording(path, {
    t0,
    procs: [
      { pid: 10, comm: 'spinner', r: 1, d: 0, cgroup: '/user.slice' },
      { pid: 20, comm: 'dwriter', r: 1, d: 3, cgroup: '/batch' },
      { pid: 30, comm: 'hog', r: 0, d: 1, cgroup: '/small' },
      { pid: 40, comm: 'bwriter', r: 0, d: 2, cgroup: '/other' },
    ],
    offcpu: [
      { pid: 20, comm: 'dwriter', cgroup: '/batch', stack: FLUSH, ms: 2000, ended: 100 },
      { pid: 21, comm: 'dwriter', cgroup: '/batch', stack: DIO_WRITE, ms: 900, ended: 20 },
      { pid: 30, comm: 'hog', cgroup: '/small', stack: CHARGE, ms: 800, ended: 20 },
      { pid: 40, comm: 'bwriter', cgroup: '/other', stack: FLUSH, ms: 1500, ended: 50 },
    ],
    evidence: EVIDENCE,
    chain: CHAIN,
    capture: richSnapshot(t0 + 30_000),
    map: hostile ? poison : undefined,
  });
}

test('hostile strings: report text (load, verdict sentences with their evidence, attribution, measured D, stacks, captures)', () => {
  const texts = [false, true].map((hostile) => {
    const path = join(dir, `${hostile ? 'hostile' : 'clean'}.db`);
    record(path, hostile);
    const r = StoreReader.open(path);
    try {
      const report = buildReport(r, { since: null, until: null, top: 10 });
      // The store path is the user's own argument, but a copied store's name could be anything.
      return formatReportText(hostile ? { ...report, store: `${P}${report.store}` } : report);
    } finally {
      r.close();
    }
  });
  // Sanity: the hostile names reached the sentences (escaped), so the test covers them.
  assert.match(texts[1]!, /\\x1b\[2J/);
  assertClean(texts[1]!, 'report text', texts[0]!);
});
