/**
 * Parser for /proc/pressure/{cpu,io,memory} (PSI, Linux >= 4.20):
 *
 *   some avg10=0.08 avg60=0.06 avg300=0.03 total=5073794
 *   full avg10=0.04 avg60=0.02 avg300=0.00 total=4287993
 *
 * avgN are percentages of wall time over the last N seconds; total is the
 * cumulative stall time in microseconds. cpu has no `full` line before 5.13,
 * and a kernel booted with psi=0 refuses the read (EOPNOTSUPP): the caller
 * handles the read, this function only the text.
 */

import type { Pressure, PressureLine, PressureResource } from '../model/pressure.ts';
import { FILE_CAP } from './limits.ts';
import type { ProcReader } from './reader.ts';

export type { Pressure, PressureLine, PressureResource };
export const PRESSURE_RESOURCES: readonly PressureResource[] = ['cpu', 'io', 'memory'];

export function parsePressure(text: string): Pressure {
  const out: Pressure = { some: null, full: null };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const kind = f[0];
    if (kind !== 'some' && kind !== 'full') continue;
    const parsed = parseFields(f.slice(1));
    if (parsed) out[kind] = parsed;
  }
  return out;
}

function parseFields(fields: string[]): PressureLine | null {
  const v: Record<string, number> = {};
  for (const kv of fields) {
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const n = Number(kv.slice(eq + 1));
    if (!Number.isFinite(n) || n < 0) return null;
    v[kv.slice(0, eq)] = n;
  }
  const { avg10, avg60, avg300, total } = v;
  if (avg10 === undefined || avg60 === undefined || avg300 === undefined || total === undefined) return null;
  return { avg10, avg60, avg300, totalUs: total };
}

/**
 * Reads /proc/pressure/<r> of each resource. One that cannot be read (CONFIG_PSI off, psi=0:
 * EOPNOTSUPP, a tree without it) is left out of `values` and named in `unreadable`.
 */
export function readPressures(
  reader: ProcReader,
  root: string,
  resources: Iterable<PressureResource> = PRESSURE_RESOURCES,
): { values: Partial<Record<PressureResource, Pressure>>; unreadable: PressureResource[] } {
  const values: Partial<Record<PressureResource, Pressure>> = {};
  const unreadable: PressureResource[] = [];
  for (const r of resources) {
    try {
      values[r] = parsePressure(reader.readText(`${root}/pressure/${r}`, FILE_CAP.pressure));
    } catch {
      unreadable.push(r);
    }
  }
  return { values, unreadable };
}
