import { buildTopModel, TOP_GROUPINGS, type TopGrouping } from '../../analyze/top-rows.ts';
import { openCollector, snapshotNeeds } from '../../collect/select.ts';
import { invalidOption } from '../../errors.ts';
import { renderTopScreen } from '../../format/top-screen.ts';
import { readPressures } from '../../procfs/pressure.ts';
import { readerFor } from '../../procfs/reader.ts';
import { parseCommon, type RawCommon } from '../options.ts';
import { write } from '../output.ts';
import { parseDuration } from '../parse-values.ts';

export interface RawTop extends RawCommon {
  interval?: string;
  group?: string;
}

/** A pipe has no width: wide enough for a cgroup path, still one line per row. */
const PIPE_WIDTH = 160;

/**
 * `loadmon top`. When stdout is not a terminal it prints one table of every
 * row and exits, so `loadmon top | head` and scripts work; the interactive
 * view (docs/top.md) is not built yet, so a terminal gets the same one table,
 * sized to it.
 */
export async function topCommand(raw: RawTop): Promise<void> {
  const opts = parseCommon(raw);
  const intervalMs = parseDuration('--interval', raw.interval ?? '1s');
  const grouping = parseGrouping(raw.group ?? 'process');
  const collector = openCollector(
    opts.source,
    opts.procRoot,
    snapshotNeeds(0),
    {
      details: 'watchdog',
      emergency: { format: 'text', stream: false },
    },
    { profileMs: 0 },
  );
  try {
    const snap = await collector.capture({ depth: opts.depth });
    const trigger = { threshold: null, cooldown_ms: 0, captures: 0, last_capture: null };
    const model = buildTopModel({
      snap,
      pressure: readPressures(readerFor(opts.procRoot), opts.procRoot).values,
      grouping,
      prev: null,
      intervalMs,
      trigger,
    });
    const tty = process.stdout.isTTY === true;
    const width = tty ? process.stdout.columns : PIPE_WIDTH;
    write(`${renderTopScreen(model, { width, height: null, selected: null, color: false, keys: false }).join('\n')}\n`);
  } finally {
    collector.close();
  }
}

function parseGrouping(raw: string): TopGrouping {
  if (!(TOP_GROUPINGS as readonly string[]).includes(raw))
    throw invalidOption('--group', raw, `expected one of ${TOP_GROUPINGS.join(', ')}`);
  return raw as TopGrouping;
}
