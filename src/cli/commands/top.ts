import { hostname } from 'node:os';

import { buildTopModel, TOP_GROUPINGS, type TopGrouping } from '../../analyze/top-rows.ts';
import type { Collector } from '../../collect/collector.ts';
import { openCollector, snapshotNeeds, WATCH_NEEDS } from '../../collect/select.ts';
import { noColor } from '../../env.ts';
import { invalidOption } from '../../errors.ts';
import { render } from '../../format/index.ts';
import { renderTopScreen } from '../../format/top-screen.ts';
import { resolveThreshold, type WatchOptions } from '../../model/options.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { countCpus } from '../../procfs/cpus.ts';
import { readPressures } from '../../procfs/pressure.ts';
import { readerFor, readRequired } from '../../procfs/reader.ts';
import { CaptureSink } from '../../record/capture-sink.ts';
import { CaptureGate } from '../../trigger/gate.ts';
import { startTracking } from '../../trigger/open.ts';
import { LOW_LOAD_SHARE } from '../../trigger/procfs-watcher.ts';
import { parseWatch, type RawWatch } from '../options.ts';
import { info, write } from '../output.ts';
import { parseAge, parseSize } from '../parse-store-values.ts';
import { checkDb, MIN_STORE_BYTES, RECORD_DEFAULTS } from '../store-options.ts';
import { LiveTop } from '../tty/live.ts';
import { TtyScreen } from '../tty/screen.ts';

export interface RawTop extends Omit<RawWatch, 'count' | 'json' | 'format' | 'profile'> {
  group?: string;
  db?: string;
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
  const db = raw.db === undefined ? null : checkDb(raw.db);
  if (TtyScreen.usable()) await liveTop(opts, grouping, db);
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
async function liveTop(opts: WatchOptions, grouping: TopGrouping, db: string | null): Promise<void> {
  const collector: Collector = openCollector(opts.source, opts.procRoot, WATCH_NEEDS, {}, { profileMs: 0 });
  const screen = new TtyScreen();
  let live: LiveTop | null = null;
  let sink: CaptureSink | null = null;
  // What became of each kept capture in the store, said in full once the screen is given back.
  const stored: string[] = [];
  try {
    const tracking = await startTracking(collector, opts, false, info);
    const cpus = countCpus(readRequired(`${opts.procRoot}/stat`));
    const threshold = resolveThreshold(opts.threshold, cpus);
    const gate = new CaptureGate(threshold, opts.cooldownMs);
    const reader = readerFor(opts.procRoot);
    sink = db === null ? null : topSink(db, { source: collector.source, cpus, threshold }, opts);
    const store = sink
      ? (snap: Snapshot): string => {
          const r = sink!.keep(snap);
          const n = stored.length + 1;
          stored.push(
            'id' in r
              ? `top: capture ${n}: stored in ${db} as capture ${r.id} (report --db ${db} --capture ${r.id})`
              : `top: capture ${n}: not stored: ${r.error}`,
          );
          // The status line is cut at the terminal's width: the short form there.
          return 'id' in r ? `stored as #${r.id}` : `not stored: ${r.error}`;
        }
      : undefined;
    live = new LiveTop(
      { collector, tracking, gate, screen, pressure: () => readPressures(reader, opts.procRoot).values, ...(store ? { store } : {}) },
      { intervalMs: opts.intervalMs, depth: opts.depth, grouping, color: !noColor(), thresholdSpec: opts.threshold.text },
    );
    await live.run();
  } finally {
    screen.close();
    sink?.close();
    collector.close();
  }
  printKept(live);
  for (const line of stored) info(line);
}

/**
 * `--db`: the kept captures go into a store under a session of their own
 * (no timeline samples: top keeps none), with record's default retention
 * for when a store is created here.
 */
function topSink(db: string, run: { source: string; cpus: number; threshold: number }, opts: WatchOptions): CaptureSink {
  return new CaptureSink({
    path: db,
    procRoot: opts.procRoot,
    policy: {
      retainMs: parseAge('--retain', RECORD_DEFAULTS.retain),
      maxBytes: parseSize('--max-size', RECORD_DEFAULTS.maxSize, MIN_STORE_BYTES),
    },
    session: {
      startedMs: Date.now(),
      host: hostname(),
      pid: process.pid,
      cpus: run.cpus,
      source: run.source,
      threshold: run.threshold,
      thresholdSpec: opts.threshold.text,
      scanAbove: run.threshold * LOW_LOAD_SHARE,
      sampleMs: opts.intervalMs,
    },
  });
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
