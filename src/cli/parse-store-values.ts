/**
 * Value parsers for record and report options: ages with days (--retain
 * 7d), sizes with binary or decimal units (--max-size 256MiB), and points in
 * time (--since 1h or an ISO date). Each throws E_INVALID_OPTION naming the
 * option.
 */

import { invalidOption } from '../errors.ts';
import { looksIso, parseIsoTime } from '../model/time.ts';

const AGE_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d", "12h", "90m", "2w" -> milliseconds (> 0). A unit is required. */
export function parseAge(option: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(raw);
  if (!m) {
    const why = raw.trim().startsWith('-') ? 'must not be negative' : 'expected a number with a unit: s, m, h, d or w (e.g. 7d)';
    throw invalidOption(option, raw, why);
  }
  const unit = m[2]!.toLowerCase();
  if (unit === '') throw invalidOption(option, raw, 'missing unit: use s, m, h, d or w (e.g. 7d, 12h)');
  const scale = AGE_MS[unit];
  if (scale === undefined) throw invalidOption(option, raw, `unknown unit '${m[2]}': use s, m, h, d or w`);
  const ms = Math.round(Number(m[1]) * scale);
  if (!(ms >= 1)) throw invalidOption(option, raw, 'must be greater than zero');
  if (ms > 3650 * 86_400_000) throw invalidOption(option, raw, 'too large (at most 10 years)');
  return ms;
}

const SIZE: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** "256MiB", "1GB", "512k" -> bytes. A bare number is bytes. */
export function parseSize(option: string, raw: string, min: number): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(raw);
  if (!m) {
    const why = raw.trim().startsWith('-') ? 'must not be negative' : 'expected a size such as 256MiB, 1GiB or 500MB';
    throw invalidOption(option, raw, why);
  }
  const unit = (m[2] || 'b').toLowerCase();
  const scale = SIZE[unit];
  if (scale === undefined) throw invalidOption(option, raw, `unknown unit '${m[2]}': use B, KiB, MiB, GiB (or kB, MB, GB)`);
  const bytes = Math.floor(Number(m[1]) * scale);
  if (bytes < min) throw invalidOption(option, raw, `must be at least ${min} bytes`);
  return bytes;
}

/**
 * "1h" (that long before now), or an ISO 8601 date/time -> ms since the
 * epoch. ISO times follow the API's grammar (model/time.ts): no impossible
 * dates (2026-02-30), nothing outside 1970 … 9999.
 */
export function parseTimePoint(option: string, raw: string, nowMs: number): number {
  const trimmed = raw.trim();
  if (/^\d+(?:\.\d+)?\s*[a-z]+$/i.test(trimmed)) return nowMs - parseAge(option, trimmed);
  if (looksIso(trimmed)) {
    const t = parseIsoTime(trimmed);
    if (t.ok) return t.ms;
    throw invalidOption(option, raw, t.why);
  }
  throw invalidOption(option, raw, 'expected a duration before now (30m, 1h, 7d) or an ISO date/time (2026-11-27T13:00:00Z)');
}
