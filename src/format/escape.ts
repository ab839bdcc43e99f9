/**
 * Every string a task or the kernel controls — comms (prctl PR_SET_NAME),
 * cgroup names (anyone with a delegated subtree), kernel frames, wchan,
 * user-space symbols (from the binaries' own ELF tables), file and device
 * names, lock names — and every string read back from a store (a copy from
 * another machine) goes through escapeText() before it reaches a terminal,
 * so a name cannot clear the screen, forge output lines, or reorder what is
 * shown. Escaped (docs/snapshot-schema.md, "Untrusted strings"):
 *  - C0 controls (U+0000–U+001F) and DEL as \xHH;
 *  - C1 controls (U+0080–U+009F: U+009B is CSI to many terminals) as \uHHHH;
 *  - the line and paragraph separators U+2028/U+2029, the bidi embeddings
 *    and overrides U+202A–U+202E, isolates U+2066–U+2069 and the invisible
 *    bidi marks U+061C, U+200E, U+200F ("Trojan Source") as \uHHHH;
 *  - the backslash as \\, so the escaped text reads back unambiguously.
 * Everything else, including printable non-ASCII, is kept.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters is what this escaper is for
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\\\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeText(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

function escapeChar(c: string): string {
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  const hex = code.toString(16);
  return code < 0x80 ? `\\x${hex.padStart(2, '0')}` : `\\u${hex.padStart(4, '0')}`;
}
