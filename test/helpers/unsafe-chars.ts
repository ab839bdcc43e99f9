/**
 * The characters loadmon must never let through raw to a terminal, a page
 * or an error message: C0 controls, DEL and the C1 controls (U+009B is CSI
 * to many terminals), the invisible bidi marks, embeddings, overrides and
 * isolates ("Trojan Source"), the line and paragraph separators. Written out
 * here, not imported from src/format/escape.ts, so that the tests do not take
 * the escaper's word for what is unsafe. One pattern for every test.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters in loadmon's output is what this pattern is for
export const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/**
 * The first unsafe character of out. With allowLf, LF is not one: loadmon's
 * human formats end their own lines with it (a forged line shows in their
 * line count instead). LF is read as a space so that the index stays right.
 */
export function findUnsafe(out: string, allowLf: boolean): RegExpExecArray | null {
  return UNSAFE.exec(allowLf ? out.replaceAll('\n', ' ') : out);
}

/** Fails naming the first unsafe character (LF allowed) by code point, with the text around it. */
export function assertNoUnsafe(out: string, what: string): void {
  const bad = findUnsafe(out, true);
  if (bad === null) return;
  const code = bad[0].codePointAt(0)!.toString(16).padStart(4, '0');
  throw new Error(`${what}: raw U+${code} near ${JSON.stringify(out.slice(Math.max(0, bad.index - 60), bad.index + 10))}`);
}
