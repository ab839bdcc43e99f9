/**
 * Query and path parameters of the API, validated: anything malformed is a
 * 400 with a message naming the parameter (never a stack trace).
 */

import { httpBadRequest } from '../errors.ts';

/** Times: milliseconds since the epoch, or an ISO 8601 date/time (UTC when no zone is given). */
export function parseTime(name: string, raw: unknown): number | null {
  if (raw === undefined || raw === '') return null;
  if (typeof raw !== 'string') throw httpBadRequest(`${name}: expected one value`);
  const s = raw.trim();
  if (/^\d{1,16}$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(s)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) && s.length > 10;
    const t = Date.parse(s.replace(' ', 'T') + (zoned ? '' : s.length === 10 ? 'T00:00:00Z' : 'Z'));
    if (Number.isFinite(t)) return t;
  }
  throw httpBadRequest(`${name}: '${clip(s)}' is not a time (milliseconds since the epoch, or an ISO date/time such as 2026-11-27T13:00:00Z)`);
}

export interface Range {
  from: number;
  to: number;
}

/** from/to with defaults (the store's span); from after to is a 400. */
export function parseRange(q: Record<string, unknown>, span: { first: number; last: number } | null): Range {
  const from = parseTime('from', q.from) ?? span?.first ?? 0;
  const to = parseTime('to', q.to) ?? span?.last ?? 0;
  if (to < from) throw httpBadRequest(`to (${new Date(to).toISOString()}) is before from (${new Date(from).toISOString()})`);
  return { from, to };
}

export function parseInt(name: string, raw: unknown, min: number, max: number, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw.trim())) throw httpBadRequest(`${name}: expected a whole number between ${min} and ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw httpBadRequest(`${name}: ${n} is not between ${min} and ${max}`);
  return n;
}

/** A capture id in a path: a positive integer. */
export function parseId(raw: unknown): number {
  if (typeof raw !== 'string' || !/^[1-9]\d{0,15}$/.test(raw)) throw httpBadRequest(`capture id: '${clip(String(raw))}' is not a positive whole number`);
  return Number(raw);
}

export function parseChoice<T extends string>(name: string, raw: unknown, choices: readonly T[]): T {
  if (typeof raw === 'string' && (choices as readonly string[]).includes(raw)) return raw as T;
  throw httpBadRequest(`${name}: expected one of ${choices.join(', ')}`);
}

/** Echoed input is cut short: an error message is no place for a megabyte of query string. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
