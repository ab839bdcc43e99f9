import { renameSync, writeFileSync } from 'node:fs';

import { buildReport } from '../../analyze/report.ts';
import { invalidOption, outputError } from '../../errors.ts';
import { exportCapture, exportPeriod, foldCaptures } from '../../format/export.ts';
import { render } from '../../format/index.ts';
import { formatReportText } from '../../format/report-text.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { readFailure } from '../../store/damage.ts';
import { StoreReader } from '../../store/reader.ts';
import { write } from '../output.ts';
import { parseReport, type RawReport, type ReportOptions } from '../store-options.ts';

export function reportCommand(raw: RawReport): void {
  const opts = parseReport(raw);
  // A gzipped protobuf on a terminal is noise that can drive it: as gzip does, refuse.
  if (opts.format === 'pprof' && opts.out === null && process.stdout.isTTY)
    throw invalidOption('--format', 'pprof', 'writes a binary file: give --out FILE or redirect stdout');
  const store = StoreReader.open(opts.db);
  let text: string | Uint8Array;
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

function renderCapture(store: StoreReader, opts: ReportOptions): string | Uint8Array {
  const id = opts.capture!;
  const snap = store.snapshot(id);
  if (opts.format === 'seed' || opts.format === 'text') return render(snap, opts.format, false);
  return exportCapture(id, snap, opts.format).body;
}

function renderPeriod(store: StoreReader, opts: ReportOptions): string | Uint8Array {
  const report = () => buildReport(store, { since: opts.since, until: opts.until, top: opts.top });
  // 'seed' shows one capture: parseReport refuses it without --capture.
  if (opts.format === 'text' || opts.format === 'seed') return formatReportText(report());
  const span = store.span();
  const range = span ? { from: opts.since ?? span.first, to: opts.until ?? span.last } : null;
  const folded = () => foldCaptures(range ? snapshotsOf(store, range) : []);
  const profile = () => ({
    snapshots: range ? snapshotsOf(store, range) : [],
    blocked: range ? store.offcpuTotals(range.from, range.to) : [],
  });
  return exportPeriod({ range, report, folded, profile }, opts.format).body;
}

function* snapshotsOf(store: StoreReader, range: { from: number; to: number }): Generator<Snapshot> {
  for (const { snapshot } of store.snapshots(range.from, range.to)) yield snapshot;
}

/** --out: written whole under a temporary name, then renamed, so a reader never sees half a file. */
function emit(text: string | Uint8Array, out: string | null): void {
  if (out === null) {
    // Bytes (pprof) go out as they are; output.ts's write() takes text.
    if (typeof text === 'string') write(text);
    else process.stdout.write(text);
    return;
  }
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, out);
  } catch (err) {
    throw outputError(out, err);
  }
}
