/**
 * Option value parsers. Each returns the value or throws an E_INVALID_OPTION
 * error naming the option, which the CLI turns into exit status 2.
 */

import { invalidOption } from '../errors.ts';
import type { ThresholdSpec } from '../model/options.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "10ms", "20s", "1.5m", "2h" -> milliseconds. A unit is required. */
export function parseDuration(option: string, raw: string, opts: { allowZero?: boolean } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(raw);
  if (!m) {
    const why = raw.trim().startsWith('-') ? 'must not be negative' : 'expected a number with a unit: ms, s, m or h';
    throw invalidOption(option, raw, why);
  }
  const unit = m[2]!.toLowerCase();
  if (unit === '') {
    if (Number(m[1]) === 0 && !opts.allowZero) throw invalidOption(option, raw, 'must be greater than zero');
    throw invalidOption(option, raw, 'missing unit: use ms, s, m or h (e.g. 10ms, 20s)');
  }
  const scale = UNIT_MS[unit];
  if (scale === undefined) throw invalidOption(option, raw, `unknown unit '${m[2]}': use ms, s, m or h`);
  const ms = Number(m[1]) * scale;
  if (!Number.isFinite(ms) || ms > 7 * 24 * 3_600_000) throw invalidOption(option, raw, 'too large');
  if (ms === 0 && !opts.allowZero) throw invalidOption(option, raw, 'must be greater than zero');
  if (ms > 0 && ms < 1) throw invalidOption(option, raw, 'must be at least 1ms');
  return Math.round(ms);
}

export function parseIntInRange(option: string, raw: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(raw)) {
    const why = raw.trim().startsWith('-') ? 'must not be negative' : 'expected a whole number';
    throw invalidOption(option, raw, why);
  }
  const n = Number(raw);
  if (n < min || n > max) throw invalidOption(option, raw, `must be between ${min} and ${max}`);
  return n;
}

export function parseThreshold(option: string, raw: string): ThresholdSpec {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(\/\s*cpu)?\s*$/i.exec(raw);
  if (!m) {
    const why = raw.trim().startsWith('-')
      ? 'must not be negative'
      : 'expected a load such as 3 or 1.5, or a per-CPU load such as 0.75/cpu';
    throw invalidOption(option, raw, why);
  }
  const value = Number(m[1]);
  const perCpu = m[2] !== undefined;
  return { value, perCpu, text: perCpu ? `${m[1]}/cpu` : m[1]! };
}
