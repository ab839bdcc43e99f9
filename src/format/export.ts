/**
 * The exports of a store, for `loadmon report --format folded|speedscope|svg|json|pprof`
 * and the API's download routes alike (one renderer, so a file saved from
 * the dashboard and one written by the CLI are the same bytes): a capture
 * (its snapshot, or its stacks) or a period (its report, or the stacks of
 * its captures), with the content type and file name a download needs.
 */

import { limitRelabel } from '../analyze/limits.ts';
import type { Report } from '../model/report.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { OffcpuEntry } from '../model/timeline.ts';
import { EXPORTER } from '../version.ts';
import { renderFlameGraph } from './flamegraph.ts';
import { type FoldedStack, foldSnapshots, formatFolded } from './folded.ts';
import { formatJson } from './json.ts';
import { captureProfile, periodProfile } from './pprof.ts';
import { toSpeedscope } from './speedscope.ts';

/** The exports whose body is text. */
export const TEXT_EXPORT_FORMATS = ['folded', 'speedscope', 'svg', 'json'] as const;
/** Every export: the text ones and pprof (a gzipped profile.proto: bytes). */
export const EXPORT_FORMATS = [...TEXT_EXPORT_FORMATS, 'pprof'] as const;
export type TextExportFormat = (typeof TEXT_EXPORT_FORMATS)[number];
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportFile<Body extends string | Uint8Array = string | Uint8Array> {
  body: Body;
  contentType: string;
  fileName: string;
}

/** The stacks of a period's captures, and how many captures they come from. */
export interface FoldedCaptures {
  captures: number;
  stacks: FoldedStack[];
}

/** A period to export; `report` and `folded` are called only for the formats that need them. */
export interface PeriodExport {
  /** null: the store holds nothing (no sample, no capture). */
  range: { from: number; to: number } | null;
  report(): Report;
  folded(): FoldedCaptures;
}

/** A period that can also be profiled (pprof): its captures, streamed, and its measured blocked time. */
export interface ProfiledPeriodExport extends PeriodExport {
  profile(): { snapshots: Iterable<Snapshot>; blocked: readonly OffcpuEntry[] };
}

const SUBTITLE = 'R and D tasks by kernel stack (width: task observations in captures)';
const JSON_TYPE = 'application/json; charset=utf-8';
/** What Go's net/http/pprof serves profiles as. */
const PPROF_TYPE = 'application/octet-stream';

export function exportCapture(id: number, snap: Snapshot, format: TextExportFormat): ExportFile<string>;
export function exportCapture(id: number, snap: Snapshot, format: ExportFormat): ExportFile;
export function exportCapture(id: number, snap: Snapshot, format: ExportFormat): ExportFile {
  const base = `loadmon-capture-${id}`;
  if (format === 'json') return { body: formatJson(snap, false), contentType: JSON_TYPE, fileName: `${base}.json` };
  const title = `loadmon capture #${id}, ${snap.time}, load1 ${snap.loadavg.load1.toFixed(2)}`;
  if (format === 'pprof')
    return { body: captureProfile(snap, `${title}, host ${snap.host}; ${EXPORTER}`), contentType: PPROF_TYPE, fileName: `${base}.pb.gz` };
  return renderStacks(foldSnapshots([snap]), format, title, base);
}

export function exportPeriod(p: PeriodExport, format: TextExportFormat): ExportFile<string>;
export function exportPeriod(p: ProfiledPeriodExport, format: ExportFormat): ExportFile;
export function exportPeriod(p: PeriodExport | ProfiledPeriodExport, format: ExportFormat): ExportFile {
  const base = p.range ? `loadmon-${stamp(p.range.from)}-${stamp(p.range.to)}` : 'loadmon-empty';
  if (format === 'json')
    return { body: `${JSON.stringify(p.report(), null, 2)}\n`, contentType: JSON_TYPE, fileName: `${base}.report.json` };
  const span = p.range ? `${new Date(p.range.from).toISOString()} .. ${new Date(p.range.to).toISOString()}` : 'empty store';
  // The overloads let only a ProfiledPeriodExport ask for pprof.
  if (format === 'pprof')
    return { body: profilePeriod(p as ProfiledPeriodExport, span), contentType: PPROF_TYPE, fileName: `${base}.pb.gz` };
  const { captures, stacks } = p.folded();
  return renderStacks(stacks, format, `loadmon: ${captures} capture(s), ${span}`, base);
}

/** Causes are relabelled by the report's own evidence (cgroup limits), so the labels say what the verdict says. */
function profilePeriod(p: ProfiledPeriodExport, span: string): Uint8Array {
  const report = p.report();
  const { snapshots, blocked } = p.profile();
  const range = p.range ?? { from: 0, to: 0 };
  const host = report.host === null ? '' : `, host ${report.host}`;
  return periodProfile({ snapshots, blocked, relabel: limitRelabel(report.evidence) }, (captures) => ({
    timeMs: range.from,
    durationMs: range.to - range.from,
    comments: [`loadmon: ${captures} capture(s), ${span}${host}; ${EXPORTER}`],
  }));
}

/** Folds snapshots as they come (a period's captures are never all held), counting them. */
export function foldCaptures(snapshots: Iterable<Snapshot>): FoldedCaptures {
  let captures = 0;
  const counted = function* (): Generator<Snapshot> {
    for (const s of snapshots) {
      captures++;
      yield s;
    }
  };
  const stacks = foldSnapshots(counted());
  return { captures, stacks };
}

function renderStacks(
  stacks: readonly FoldedStack[],
  format: Exclude<TextExportFormat, 'json'>,
  title: string,
  base: string,
): ExportFile<string> {
  switch (format) {
    case 'folded':
      return { body: formatFolded(stacks), contentType: 'text/plain; charset=utf-8', fileName: `${base}.folded` };
    case 'speedscope':
      return {
        body: `${JSON.stringify(toSpeedscope(stacks, title, EXPORTER))}\n`,
        contentType: JSON_TYPE,
        fileName: `${base}.speedscope.json`,
      };
    case 'svg':
      return { body: renderFlameGraph(stacks, { title, subtitle: SUBTITLE }), contentType: 'image/svg+xml', fileName: `${base}.svg` };
  }
}

/** 20261127T140000Z: a time for a file name (no ':' for Windows, no milliseconds). */
function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
