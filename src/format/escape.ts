/**
 * Comms are attacker-controlled (prctl(PR_SET_NAME)): escape control
 * characters and backslashes before they reach a terminal, so a task cannot
 * forge output lines or move the cursor.
 */
export function escapeComm(comm: string): string {
  // eslint-disable-next-line no-control-regex
  return comm.replace(/[\u0000-\u001f\u007f\\]/g, (c) =>
    c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
