/** Writes to stdout, and exits quietly when the reader went away (| head). */

import { escapeText } from '../format/escape.ts';

let installed = false;

export function installStdoutGuard(): void {
  if (installed) return;
  installed = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export function write(text: string): void {
  process.stdout.write(text);
}

/** Diagnostics for people go to stderr, so stdout stays machine-readable. */
export function info(text: string): void {
  // Notes quote task names, cgroups and helper errors: never raw to a terminal.
  process.stderr.write(`loadmon: ${escapeText(text)}\n`);
}
