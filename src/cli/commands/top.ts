import { buildTopModel, TOP_GROUPINGS, type TopGrouping } from '../../analyze/top-rows.ts';
import type { Collector } from '../../collect/collector.ts';
import { openCollector, snapshotNeeds, WATCH_NEEDS } from '../../collect/select.ts';
import { noColor } from '../../env.ts';
import { invalidOption } from '../../errors.ts';
import { render } from '../../format/index.ts';
import { renderTopScreen } from '../../format/top-screen.ts';
import { resolveThreshold, type WatchOptions } from '../../model/options.ts';
import { countCpus } from '../../procfs/cpus.ts';
import { readPressures } from '../../procfs/pressure.ts';
import { readerFor, readRequired } from '../../procfs/reader.ts';
import { CaptureGate } from '../../trigger/gate.ts';
import { startTracking } from '../../trigger/open.ts';
import { parseWatch, type RawWatch } from '../options.ts';
import { info, write } from '../output.ts';
import { LiveTop } from '../tty/live.ts';
import { TtyScreen } from '../tty/screen.ts';

export interface RawTop extends Omit<RawWatch, 'count' | 'json' | 'format' | 'profile'> {
  group?: string;
}

/** A pipe has no width: wide enough for a cgroup path, still one line per row. */
const PIPE_WIDTH = 160;
/** top refreshes every second unless told otherwise (watch's 10 ms is a load check, not a redraw). */
const TOP_INTERVAL = '1s';

/**
 * `loadmon top`. On a terminal (stdout and stdin) the live view
 * (docs/top.md); otherwise one table of every row, so `loadmon top | head`
 * and scripts work.
 */
export async function topCommand(raw: RawTop): Promise<void> {
  const opts = parseWatch({ ...raw, interval: raw.interval ?? TOP_INTERVAL });
  const grouping = parseGrouping(raw.group ?? 'process');
  if (TtyScreen.usable()) await liveTop(opts, grouping);
  else await oneTable(opts, grouping);
}

async function oneTable(opts: WatchOptions, grouping: TopGrouping): Promise<void> {
  const collector = openCollector(opts.source, opts.procRoot, snapshotNeeds(0), {
    details: 'watchdog',
    emergency: { format: 'text', stream: false },
  });
  try {
    const snap = await collector.capture({ depth: opts.depth });
    // One capture: no trigger runs, and no tracking window exists for a blocked time.
    const trigger = { threshold: null, cooldown_ms: 0, captures: 0, last_capture: null };
    const pressure = readPressures(readerFor(opts.procRoot), opts.procRoot).values;
    const model = buildTopModel({ snap, pressure, grouping, blocked: null, trigger });
    write(`${renderTopScreen(model, { width: PIPE_WIDTH, height: null, selected: null, color: false, keys: false }).join('\n')}\n`);
  } finally {
    collector.close();
  }
}

/**
 * The live view runs like `watch`: `auto` takes the module, else the eBPF
 * collector (a filtered task-iterator pass each second costs far less than
 * a procfs scan of every thread, docs/top.md "Costs"), whose tracking gives
 * the blocked time; procfs otherwise.
 */
async function liveTop(opts: WatchOptions, grouping: TopGrouping): Promise<void> {
  const collector: Collector = openCollector(opts.source, opts.procRoot, WATCH_NEEDS, {}, { profileMs: 0 });
  const screen = new TtyScreen();
  let live: LiveTop | null = null;
  try {
    const tracking = await startTracking(collector, opts, false, info);
    const cpus = countCpus(readRequired(`${opts.procRoot}/stat`));
    const gate = new CaptureGate(resolveThreshold(opts.threshold, cpus), opts.cooldownMs);
    const reader = readerFor(opts.procRoot);
    live = new LiveTop(
      { collector, tracking, gate, screen, pressure: () => readPressures(reader, opts.procRoot).values },
      { intervalMs: opts.intervalMs, depth: opts.depth, grouping, color: !noColor(), thresholdSpec: opts.threshold.text },
    );
    await live.run();
  } finally {
    screen.close();
    collector.close();
  }
  printKept(live);
}

/** The captures kept with `s` or by the threshold, as `snapshot` prints them, after the screen is given back. */
function printKept(live: LiveTop | null): void {
  if (!live || live.kept.length === 0) return;
  if (live.dropped > 0) info(`top: the first ${live.dropped} captures were dropped (at most ${live.kept.length} are kept)`);
  for (const snap of live.kept) write(render(snap, 'text', false));
}

function parseGrouping(raw: string): TopGrouping {
  if (!(TOP_GROUPINGS as readonly string[]).includes(raw))
    throw invalidOption('--group', raw, `expected one of ${TOP_GROUPINGS.join(', ')}`);
  return raw as TopGrouping;
}
