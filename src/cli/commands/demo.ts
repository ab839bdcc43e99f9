/**
 * `loadmon demo`: the seed's own experiment, bounded. Starts busy loops (R)
 * and vfork-blocked tasks (D) — or synchronous direct I/O when there is no
 * compiler — waits with a progress line for load1 to climb to a threshold
 * picked to fire within about 10 s, prints the capture, then stops and reaps
 * everything it started (also on Ctrl-C and on errors).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ProcfsCollector } from '../../collect/procfs.ts';
import { demoError } from '../../errors.ts';
import { render } from '../../format/index.ts';
import { LoadProbe } from '../../trigger/load-probe.ts';
import { buildLoadgen, HelperBuildError } from '../../workload/helper.ts';
import { Workload } from '../../workload/workload.ts';
import { parseCommon } from '../options.ts';
import { info, write } from '../output.ts';
import { parseDuration, parseIntInRange, parseThreshold } from '../parse-values.ts';
import { stopping } from '../shutdown.ts';

interface RawDemo {
  duration?: string;
  threshold?: string;
  busy?: string;
  blocked?: string;
  format?: string;
  json?: boolean;
}

/** Load average decay per 5 s update: load = load*E + n*(1-E), E = 1/exp(5s/1min). */
const EXP_1 = Math.exp(-5 / 60);

/**
 * A threshold the demo load reaches after two load-average updates (5-10 s):
 * 90% of the load1 predicted then. When that is above the load now, keep it
 * at least 0.2 above (a visible climb); on a machine whose load is already
 * higher and decaying, the prediction is below it and the capture is at once.
 */
export function demoThreshold(load1Now: number, tasks: number): number {
  const predicted = load1Now * EXP_1 ** 2 + tasks * (1 - EXP_1 ** 2);
  const t = Math.round(predicted * 0.9 * 100) / 100;
  return t > load1Now ? Math.max(t, Math.round((load1Now + 0.2) * 100) / 100) : t;
}

export async function demoCommand(raw: RawDemo): Promise<void> {
  const common = parseCommon({ format: raw.format, json: raw.json });
  const durationMs = parseDuration('--duration', raw.duration ?? '60s');
  const busy = parseIntInRange('--busy', raw.busy ?? '2', 0, 64);
  const blocked = parseIntInRange('--blocked', raw.blocked ?? '6', 0, 256);
  if (busy + blocked === 0) throw demoError('nothing to run: --busy and --blocked are both 0');
  const given = raw.threshold === undefined ? null : parseThreshold('--threshold', raw.threshold);
  if (given?.perCpu) throw demoError('--threshold for demo takes an absolute load such as 2.5');

  let loadgen: string | null = null;
  try {
    loadgen = buildLoadgen();
  } catch (err) {
    if (!(err instanceof HelperBuildError)) throw err;
    info(`${err.message}; using synchronous direct I/O for D tasks instead (like the seed's fio run)`);
  }

  const seconds = durationMs / 1000;
  const probe = new LoadProbe('/proc/loadavg');
  const load0 = probe.load1();
  const threshold = given?.value ?? demoThreshold(load0, busy + blocked);
  const work = new Workload(loadgen);
  const scratch = loadgen ? null : mkdtempSync(join(tmpdir(), 'loadmon-demo-'));
  try {
    info(
      `demo: starting ${busy} busy loop(s) (R: while :; do :; done) and ${blocked} task(s) in D ` +
        `(${loadgen ? 'parents blocked in vfork()' : 'synchronous direct I/O'}) for at most ${seconds}s`,
    );
    for (let i = 0; i < busy; i++) await work.spin(seconds);
    for (let i = 0; i < blocked; i++) {
      if (loadgen) await work.vfork(seconds);
      else await work.directIo(seconds, join(scratch!, `io-${i}`));
    }
    info(`demo: started pids ${work.pids.join(' ')}`);
    info(`demo: load1 is ${load0.toFixed(2)}; capturing when it reaches ${threshold.toFixed(2)} (it updates every 5 s)`);
    const reached = await waitForLoad(probe, threshold, durationMs, stopping);
    if (stopping.aborted) {
      info('demo: interrupted; stopping the synthetic load');
      process.exitCode = 130;
      return;
    }
    const collector = new ProcfsCollector();
    const snap = await collector.capture({
      depth: common.depth,
      trigger: reached
        ? {
            reason: 'load1>=threshold',
            threshold,
            threshold_spec: threshold.toFixed(2),
            load1: reached,
            cooldown_ms: 0,
            capture_index: 1,
          }
        : null,
    });
    collector.close();
    write(render(snap, common.format, false));
    if (!reached) {
      throw demoError(`load1 did not reach ${threshold.toFixed(2)} within ${seconds}s; the snapshot above was taken anyway`);
    }
  } finally {
    probe.close();
    const n = work.pids.length;
    await work.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    info(`demo: stopped and reaped ${n} process(es); the load average decays over the next minutes`);
  }
}

/** Polls load1 with a progress line; resolves with the load that crossed, or null on timeout/abort. */
function waitForLoad(probe: LoadProbe, threshold: number, timeoutMs: number, signal: AbortSignal): Promise<number | null> {
  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  return new Promise((resolve) => {
    const done = (v: number | null): void => {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      if (tty) process.stderr.write('\n');
      resolve(v);
    };
    const onAbort = (): void => done(null);
    const timer = setInterval(() => {
      const load1 = probe.load1();
      const elapsed = Date.now() - started;
      if (load1 >= threshold) return done(load1);
      if (elapsed >= timeoutMs) return done(null);
      const line = `demo: waiting for load1 to climb: ${load1.toFixed(2)} / ${threshold.toFixed(2)} after ${Math.floor(elapsed / 1000)}s`;
      if (tty) process.stderr.write(`\r${line}`);
      else if (elapsed - lastLine >= 5000) {
        lastLine = elapsed;
        process.stderr.write(`loadmon: ${line}\n`);
      }
    }, 100);
    signal.addEventListener('abort', onAbort);
  });
}
