import { renameSync, writeFileSync } from 'node:fs';

import { buildReport } from '../../analyze/report.ts';
import { outputError } from '../../errors.ts';
import { renderFlameGraph } from '../../format/flamegraph.ts';
import { foldSnapshots, formatFolded } from '../../format/folded.ts';
import { render } from '../../format/index.ts';
import { formatReportText } from '../../format/report-text.ts';
import { toSpeedscope } from '../../format/speedscope.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { readFailure } from '../../store/damage.ts';
import { StoreReader } from '../../store/reader.ts';
import { write } from '../output.ts';
import { parseReport, type RawReport, type ReportOptions } from '../store-options.ts';

const EXPORTER = 'loadmon 0.1.0';

export function reportCommand(raw: RawReport): void {
  const opts = parseReport(raw);
  const store = StoreReader.open(opts.db);
  let text: string;
  try {
    text = opts.capture !== null ? renderCapture(store, opts) : renderPeriod(store, opts);
  } catch (err) {
    // A damaged page is found only when a query reaches it: name the store (E_STORE_CORRUPT, E_STORE).
    throw readFailure(opts.db, err);
  } finally {
    store.close();
  }
  emit(text, opts.out);
}

function renderCapture(store: StoreReader, opts: ReportOptions): string {
  const id = opts.capture!;
  const snap = store.snapshot(id);
  switch (opts.format) {
    case 'seed':
    case 'text':
      return render(snap, opts.format, false);
    case 'json':
      return render(snap, 'json', false);
    default:
      return renderStacks([snap], opts, `loadmon capture #${id}, ${snap.time}, load1 ${snap.loadavg.load1.toFixed(2)}`);
  }
}

function renderPeriod(store: StoreReader, opts: ReportOptions): string {
  if (opts.format === 'text' || opts.format === 'json') {
    const report = buildReport(store, { since: opts.since, until: opts.until, top: opts.top });
    return opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReportText(report);
  }
  const span = store.span();
  const from = opts.since ?? span?.first ?? 0;
  const to = opts.until ?? span?.last ?? 0;
  const snaps: Snapshot[] = [];
  if (span) for (const { snapshot } of store.snapshots(from, to)) snaps.push(snapshot);
  const title = `loadmon: ${snaps.length} capture(s), ${span ? `${new Date(from).toISOString()} .. ${new Date(to).toISOString()}` : 'empty store'}`;
  return renderStacks(snaps, opts, title);
}

function renderStacks(snaps: Snapshot[], opts: ReportOptions, title: string): string {
  const folded = foldSnapshots(snaps);
  switch (opts.format) {
    case 'folded':
      return formatFolded(folded);
    case 'speedscope':
      return `${JSON.stringify(toSpeedscope(folded, title, EXPORTER))}\n`;
    default:
      return renderFlameGraph(folded, { title, subtitle: 'R and D tasks by kernel stack (width: task observations in captures)' });
  }
}

/** --out: written whole under a temporary name, then renamed, so a reader never sees half a file. */
function emit(text: string, out: string | null): void {
  if (out === null) return write(text);
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, out);
  } catch (err) {
    throw outputError(out, err);
  }
}
