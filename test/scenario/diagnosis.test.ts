/**
 * The diagnosis scenario suite (issue 10): each scenario injects a known
 * cause of load, `loadmon record` watches it with --source procfs and
 * --source bpf at the same time, and the FIRST verdict line of each report
 * must name the injected cause with its evidence (device, cgroup, lock
 * holder), and the end-of-period replay of load1 must stay within 10% of
 * the kernel's. What each report said is printed as diagnostics whether the
 * checks pass or not: the suite is how the verdict is measured.
 *
 * Needs root, gcc and dist/ (npm run build); the bpf half needs the built
 * eBPF helper and fails, saying why, without it. LOADMON_SCENARIO_SECONDS
 * (default 27) sets how long each workload runs; bench/accuracy.ts runs the
 * same scenarios many times for hit rates.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { CLI, runScenario, Session, type Source } from '../scenarios/lib.ts';
import { evaluate, scenarios } from '../scenarios/scenarios.ts';
import { describe } from '../scenarios/summary.ts';

const SOURCES: Source[] = ['procfs', 'bpf'];
const SECONDS = Number(process.env.LOADMON_SCENARIO_SECONDS ?? '27');
/** LOADMON_SCENARIOS=vfork,cpu runs only those (while working on one cause). */
const ONLY = process.env.LOADMON_SCENARIOS?.split(',').filter(Boolean) ?? null;
let session: Session;

before(() => {
  assert.equal(process.getuid?.(), 0, 'the scenario suite needs root (cgroups, the bpf recorder)');
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  session = new Session();
});

after(() => session?.close());

for (const sc of scenarios()) {
  const skip = sc.unavailable ?? (ONLY && !ONLY.includes(sc.name) ? 'not in LOADMON_SCENARIOS' : false);
  test(`${sc.name}: ${sc.expect}`, { skip, timeout: (SECONDS + 240) * 1000 }, async (t) => {
    const run = await runScenario(session, sc.plan, SOURCES, SECONDS);
    t.diagnostic(
      `${sc.name}: pids ${run.facts.pids.join(' ')}, load1 ${run.facts.load1AtStart} at start, ` +
        `background ${run.facts.background.r} R ${run.facts.background.d} D` +
        (run.facts.cgroupPaths.length ? `, cgroup ${run.facts.cgroupPaths.join(' ')}` : ''),
    );
    for (const source of SOURCES) {
      const outcome = run.reports.get(source)!;
      for (const line of describe(source, outcome)) t.diagnostic(line);
      const checks = evaluate(sc, outcome, source, run.facts);
      for (const c of checks) t.diagnostic(`  ${source}: ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
      await t.test(`--source ${source}`, () => {
        const failed = checks.filter((c) => !c.ok);
        assert.deepEqual(
          failed.map((c) => `${c.name}: ${c.detail}`),
          [],
          `${sc.name} --source ${source}`,
        );
      });
    }
  });
}
