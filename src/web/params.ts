/**
 * Query and path parameters of the API, validated: anything malformed is a
 * 400 with a message naming the parameter (never a stack trace).
 */

import { httpBadRequest } from '../errors.ts';
import { looksIso, parseEpochMs, parseIsoTime } from '../model/time.ts';

const TIME_HINT = 'milliseconds since the epoch, or an ISO date/time such as 2026-11-27T13:00:00Z';

/** Times: milliseconds since the epoch, or an ISO 8601 date/time (UTC when no zone is given); see time.ts. */
export function parseTime(name: string, raw: unknown): number | null {
  if (raw === undefined || raw === '') return null;
  if (typeof raw !== 'string') throw httpBadRequest(`${name}: expected one value`);
  const s = raw.trim();
  const parsed = /^\d+$/.test(s) ? parseEpochMs(s) : looksIso(s) ? parseIsoTime(s) : null;
  if (parsed === null) throw httpBadRequest(`${name}: '${clip(s)}' is not a time (${TIME_HINT})`);
  if (!parsed.ok) throw httpBadRequest(`${name}: '${clip(s)}': ${parsed.why}`);
  return parsed.ms;
}

export interface Range {
  from: number;
  to: number;
}

/** from/to as given (null: not given), checked without the store. */
export interface RangeQuery {
  from: number | null;
  to: number | null;
}

/**
 * Reads from/to; call it before touching the store, so that a bad
 * parameter is a 400 and never reaches (or drops) the store connection.
 */
export function parseRangeQuery(q: Record<string, unknown>): RangeQuery {
  const rq = { from: parseTime('from', q.from), to: parseTime('to', q.to) };
  if (rq.from !== null && rq.to !== null) checkOrder(rq.from, rq.to);
  return rq;
}

/** The range with the store's span as defaults; from after to is a 400. */
export function resolveRange(rq: RangeQuery, span: { first: number; last: number } | null): Range {
  const from = rq.from ?? span?.first ?? 0;
  const to = rq.to ?? span?.last ?? 0;
  checkOrder(from, to);
  return { from, to };
}

function checkOrder(from: number, to: number): void {
  if (to < from) throw httpBadRequest(`to (${isoOrMs(to)}) is before from (${isoOrMs(from)})`);
}

/** An ISO time for a message; the raw number if Date cannot show it (a message must never throw). */
function isoOrMs(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

export function parseInteger(name: string, raw: unknown, min: number, max: number, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw.trim()))
    throw httpBadRequest(`${name}: expected a whole number between ${min} and ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw httpBadRequest(`${name}: ${n} is not between ${min} and ${max}`);
  return n;
}

/** A capture id in a path: a positive integer. */
export function parseId(raw: unknown): number {
  if (typeof raw !== 'string' || !/^[1-9]\d{0,15}$/.test(raw))
    throw httpBadRequest(`capture id: '${clip(String(raw))}' is not a positive whole number`);
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
