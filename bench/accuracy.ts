/**
 * The verdict's accuracy harness (issue 10 targets): runs each diagnosis
 * scenario (test/scenarios) N times, each run recorded by --source procfs
 * and --source bpf at once, and prints per scenario and source:
 *
 *  - the hit rate: the first verdict line names the injected cause;
 *  - the evidence rate: its device / cgroup / lock name / CPU line checks;
 *  - the holder hit rate (bpf, lock scenario): the chain names the holder;
 *  - the end-of-period replay error of load1 (mean and worst) and how many
 *    runs stayed within 10%;
 *  - what the first line said, tallied (kind/cause), so a miss says what won.
 *
 *   npm run accuracy [-- --runs 10 --duration 60s --only dsync-own,lock --out summary.json]
 *
 * --only takes scenario names or the cause they inject (lock, cgroup, …).
 * Not part of npm test: at the defaults it takes about 80 minutes.
 */

import { existsSync, writeFileSync } from 'node:fs';

import { parseDuration } from '../src/cli/parse-values.ts';
import { CLI, runScenario, Session, type Source } from '../test/scenarios/lib.ts';
import { type Check, type CheckRole, evaluate, replayError, type Scenario, scenarios } from '../test/scenarios/scenarios.ts';
import { describe } from '../test/scenarios/summary.ts';

const SOURCES: Source[] = ['procfs', 'bpf'];

interface Options {
  runs: number;
  durationS: number;
  only: string[] | null;
  out: string | null;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 10, durationS: 60, only: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`accuracy: ${a} needs a value`);
    if (a === '--runs') o.runs = Math.max(1, Math.trunc(Number(v)) || 0);
    else if (a === '--duration') o.durationS = parseDuration('--duration', v) / 1000;
    else if (a === '--only') o.only = v.split(',').filter(Boolean);
    else if (a === '--out') o.out = v;
    else throw new Error(`accuracy: unknown option ${a} (have --runs, --duration, --only, --out)`);
    i++;
  }
  if (!Number.isFinite(o.runs) || o.runs < 1) throw new Error('accuracy: --runs must be a positive integer');
  return o;
}

/** Aliases by the injected cause, so `--only lock` finds dsync-shared. */
const BY_CAUSE: Record<string, string[]> = {
  'cpu-saturation': ['cpu'],
  vfork: ['vfork', 'mixed'],
  'block-io': ['dsync-own'],
  lock: ['dsync-shared'],
  cgroup: ['memcg-v1', 'memcg-v2', 'blkio-throttle', 'io-max'],
  memory: ['memcg-v1', 'memcg-v2'],
  io: ['blkio-throttle', 'io-max'],
};

function selected(all: Scenario[], only: string[] | null): Scenario[] {
  if (!only) return all;
  const names = new Set(only.flatMap((o) => BY_CAUSE[o] ?? [o]));
  const unknown = [...names].filter((n) => !all.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(
      `accuracy: unknown scenario ${unknown.join(', ')} (have ${all.map((s) => s.name).join(', ')}, or a ` +
        `cause: ${Object.keys(BY_CAUSE).join(', ')})`,
    );
  return all.filter((s) => names.has(s.name));
}

interface Tally {
  runs: number;
  /** Runs whose checks of each role all passed (a role a run had no check of is not counted). */
  passed: Partial<Record<CheckRole, number>>;
  had: Partial<Record<CheckRole, number>>;
  replay_errors: number[];
  /** What the first line said: "uninterruptible/vfork" → runs. */
  first_lines: Record<string, number>;
  /** R and D threads of everything else on the machine when each run started. */
  background: Array<{ r: number; d: number }>;
  failures: string[];
}

function newTally(): Tally {
  return { runs: 0, passed: {}, had: {}, replay_errors: [], first_lines: {}, background: [], failures: [] };
}

function add(t: Tally, checks: Check[], firstLine: string, replay: number | null, run: number, background: { r: number; d: number }): void {
  t.runs++;
  t.background.push(background);
  t.first_lines[firstLine] = (t.first_lines[firstLine] ?? 0) + 1;
  if (replay !== null) t.replay_errors.push(replay);
  const roles = new Set(checks.map((c) => c.role));
  for (const role of roles) {
    t.had[role] = (t.had[role] ?? 0) + 1;
    if (checks.filter((c) => c.role === role).every((c) => c.ok)) t.passed[role] = (t.passed[role] ?? 0) + 1;
  }
  for (const c of checks) if (!c.ok) t.failures.push(`run ${run}: ${c.name}: ${c.detail}`);
}

const rate = (t: Tally, role: CheckRole): string => (t.had[role] ? `${t.passed[role] ?? 0}/${t.had[role]}` : '-');

/** Cause hits count over all runs: a run that produced no report is a miss. */
function hitRate(t: Tally): string {
  return `${t.passed.cause ?? 0}/${t.runs}`;
}

function row(name: string, source: Source, t: Tally): string {
  const e = t.replay_errors;
  const mean = e.length ? (e.reduce((a, b) => a + b, 0) / e.length) * 100 : NaN;
  const worst = e.length ? Math.max(...e) * 100 : NaN;
  const lines = Object.entries(t.first_lines)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  return (
    `| ${name} | ${source} | ${hitRate(t)} | ${rate(t, 'evidence')} | ${rate(t, 'holder')} | ` +
    `${rate(t, 'replay')} | ${mean.toFixed(1)}% / ${worst.toFixed(1)}% | ${lines} | ${bg(t)} |`
  );
}

function bg(t: Tally): string {
  const n = t.background.length || 1;
  const r = t.background.reduce((a, b) => a + b.r, 0) / n;
  const d = t.background.reduce((a, b) => a + b.d, 0) / n;
  return `${r.toFixed(1)} R, ${d.toFixed(1)} D`;
}

const HEADER =
  '| scenario | source | first line names the cause | evidence | holder | replay ≤ 10% | replay error mean / worst | first ' +
  'lines seen | background at start (mean) |\n' +
  '|---|---|---|---|---|---|---|---|---|';

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('accuracy: needs root (cgroups, the bpf recorder)');
  if (!existsSync(CLI)) throw new Error(`accuracy: ${CLI} is missing: run npm run build`);
  const all = selected(scenarios(), opts.only);
  const session = new Session();
  const results: Record<string, Record<string, Tally>> = {};
  const skipped: Record<string, string> = {};
  const started = new Date().toISOString();
  try {
    for (const sc of all) {
      if (sc.unavailable) {
        skipped[sc.name] = sc.unavailable;
        console.error(`accuracy: ${sc.name} skipped: ${sc.unavailable}`);
        continue;
      }
      const per: Record<string, Tally> = Object.fromEntries(SOURCES.map((s) => [s, newTally()]));
      results[sc.name] = per;
      for (let run = 1; run <= opts.runs; run++) {
        const res = await runScenario(session, sc.plan, SOURCES, opts.durationS);
        console.error(
          `accuracy: ${sc.name} run ${run}/${opts.runs} (load1 ${res.facts.load1AtStart} at start, ` +
            `background ${res.facts.background.r} R ${res.facts.background.d} D)`,
        );
        for (const source of SOURCES) {
          const outcome = res.reports.get(source)!;
          for (const l of describe(source, outcome)) console.error(l);
          const first =
            outcome instanceof Error
              ? 'no report'
              : outcome.verdict[0]
                ? `${outcome.verdict[0].kind}/${outcome.verdict[0].cause ?? '-'}`
                : 'none';
          add(
            per[source]!,
            evaluate(sc, outcome, source, res.facts),
            first,
            outcome instanceof Error ? null : replayError(outcome),
            run,
            res.facts.background,
          );
        }
      }
      console.log(`\n${sc.name}: ${sc.expect}\n${HEADER}\n${SOURCES.map((s) => row(sc.name, s, per[s]!)).join('\n')}`);
    }
  } finally {
    session.close();
  }
  console.log(`\nall scenarios (${opts.runs} runs of ${opts.durationS} s each, procfs and bpf recording at once)\n${HEADER}`);
  for (const [name, per] of Object.entries(results)) for (const s of SOURCES) console.log(row(name, s, per[s]!));
  for (const [name, why] of Object.entries(skipped)) console.log(`| ${name} | skipped: ${why} |`);
  if (opts.out) {
    const summary = {
      schema: 'loadmon.accuracy/v1',
      started,
      finished: new Date().toISOString(),
      runs: opts.runs,
      duration_s: opts.durationS,
      scenarios: results,
      skipped,
    };
    writeFileSync(opts.out, `${JSON.stringify(summary, null, 2)}\n`);
    console.error(`accuracy: summary written to ${opts.out}`);
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
