/**
 * Hostile-string poisoning for the escaping tests (issue 11, item 1): a deep
 * copy of any fixture with a hostile text around every string that a task,
 * the kernel or a store could have written. Walking the objects means a
 * field added later is poisoned too. Each test picks its own text (what its
 * output may show) and the keys it leaves alone.
 */

/** Values loadmon branches on, not names: a hostile value there is a crafted-store test of its own. */
export const ENUM_KEYS: readonly string[] = ['schema', 'state', 'cause', 'kind', 'limit', 'hierarchy', 'reason', 'd_from', 'time'];
/** Keys whose arrays hold stack frames. */
const FRAME_KEYS = new Set(['stack', 'frames', 'user_stack']);

export interface PoisonOptions {
  /** Put before and after every poisoned string. */
  text: string;
  /** Put into frames after the symbol; `text` when not given. */
  frameText?: string;
  /** Keys whose string values stay as they are (ENUM_KEYS when not given). */
  keep?: readonly string[];
}

/**
 * A function making deep copies with `text` around every string except those
 * under `keep`; a frame keeps its symbol's base name first (the cause table
 * still matches it) and carries the text as a clone suffix: `sym.TEXT+0x1/0x2`.
 */
export function poisoner(opts: PoisonOptions): <T>(v: T) => T {
  const keep = new Set(opts.keep ?? ENUM_KEYS);
  const frameText = opts.frameText ?? opts.text;
  const frame = (f: string): string => f.replace(/^[^+ ]+/, (sym) => `${sym}.${frameText}`);
  const poison = <T>(v: T, key = ''): T => {
    if (typeof v === 'string') return (keep.has(key) ? v : `${opts.text}${v}${opts.text}`) as T;
    if (Array.isArray(v)) return v.map((x) => (FRAME_KEYS.has(key) && typeof x === 'string' ? frame(x) : poison(x, key))) as T;
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, poison(x, k)])) as T;
    return v;
  };
  return (v) => poison(v);
}
