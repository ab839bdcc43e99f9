/** The watchdog thread of WatchdogDetailReader (see there). */

import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

import { render } from '../format/index.ts';
import { assembleSnapshot } from './assemble.ts';
import type { TaskDetails } from './details.ts';
import type { WatchdogMessage } from './watchdog-reader.ts';

let armed: Extract<WatchdogMessage, { kind: 'arm' }> | null = null;
const details = new Map<string, TaskDetails>();
let timer: NodeJS.Timeout | undefined;

function fire(): void {
  if (!armed) return;
  const stuck = armed.candidates[details.size]?.dir ?? null;
  const snap = assembleSnapshot(armed.ctx, armed.candidates, { details, stuckOn: stuck });
  writeSync(1, render(snap, armed.out.format, armed.out.stream));
  writeSync(2, `loadmon: reading ${stuck}/stack blocked for more than ${armed.timeoutMs} ms; printed the capture without it and stopped\n`);
  process.kill(process.pid, 'SIGKILL');
}

parentPort!.on('message', (m: WatchdogMessage) => {
  if (m.kind === 'arm') {
    armed = m;
    details.clear();
    clearTimeout(timer);
    timer = setTimeout(fire, m.timeoutMs);
  } else if (m.kind === 'task') {
    details.set(m.dir, m.details);
    // The deadline is per read: a long list of quick reads is fine.
    timer?.refresh();
  } else {
    armed = null;
    clearTimeout(timer);
  }
});
