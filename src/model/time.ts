/**
 * The one grammar for points in time that people type: the API's from/to
 * (web/params.ts) and the CLI's --since/--until (cli/parse-store-values.ts)
 * both use it, so they accept and refuse the same values. Pure: no errors thrown, the
 * callers word the refusal for their medium (HTTP 400, exit 2).
 *
 * Date.parse is not used on its own: it turns 2026-02-30 into 2 March and
 * T24:00 into the next day. Every field is range-checked and the date is
 * round-tripped through Date.UTC instead.
 */

/** The last millisecond of year 9999, the latest time a 4-digit ISO year can name. */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const OUT_OF_RANGE = `out of range: 1970-01-01 … 9999-12-31 UTC, 0 … ${MAX_TIME_MS} ms`;

export type TimeParse = { ok: true; ms: number } | { ok: false; why: string };

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Milliseconds since the epoch, digits only: within 0 … MAX_TIME_MS. */
export function parseEpochMs(s: string): TimeParse {
  // Compared as text first: a 30-digit number is not exact as a double.
  const n = /^\d{1,16}$/.test(s) ? Number(s) : Infinity;
  return n <= MAX_TIME_MS ? { ok: true, ms: n } : { ok: false, why: OUT_OF_RANGE };
}

/** True when the string has the shape of an ISO date/time (whether or not it names a real one). */
export function looksIso(s: string): boolean {
  return ISO.test(s);
}

/**
 * An ISO 8601 date or date/time (UTC when no zone is given; a zone only
 * after a time) -> ms since the epoch; a date that does not exist, or one
 * outside 1970 … 9999 UTC, is refused with the reason.
 */
export function parseIsoTime(s: string): TimeParse {
  const m = ISO.exec(s);
  if (!m) return { ok: false, why: 'not an ISO date/time' };
  const [y, mo, d, hh, mi, ss] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const back = new Date(0);
  back.setUTCFullYear(y, mo - 1, d);
  const same = back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d;
  if (!same) return { ok: false, why: 'no such date' };
  if (hh > 23 || mi > 59 || ss > 59) return { ok: false, why: 'no such time of day: 00:00:00 … 23:59:59' };
  const local = back.setUTCHours(hh, mi, ss, ms);
  const offset = zoneOffsetMin(m[8]);
  if (offset === null) return { ok: false, why: 'no such UTC offset: -23:59 … +23:59' };
  const t = local - offset * 60_000;
  return t >= 0 && t <= MAX_TIME_MS ? { ok: true, ms: t } : { ok: false, why: OUT_OF_RANGE };
}

/** "Z", "+02:00", "-0530" -> minutes east of UTC; none is UTC; null when out of range. */
function zoneOffsetMin(zone: string | undefined): number | null {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const h = Number(zone.slice(1, 3));
  const min = Number(zone.slice(-2));
  if (h > 23 || min > 59) return null;
  return (zone[0] === '-' ? -1 : 1) * (h * 60 + min);
}

/** Milliseconds as people write a duration: "20s", "10ms", "2h" (the largest unit that is exact). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
