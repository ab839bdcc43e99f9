import { render } from '../../format/index.ts';
import { checkBpfUsable, openWatchCollector, openWatcher, startTracking } from '../../trigger/open.ts';
import { checkPsiTriggers, withPsiTriggers } from '../../trigger/psi-trigger.ts';
import { runWatch } from '../../trigger/watch.ts';
import { parseWatch, type RawWatch } from '../options.ts';
import { info, write } from '../output.ts';
import { stopping } from '../shutdown.ts';

export async function watchCommand(raw: RawWatch & { quiet?: boolean }): Promise<void> {
  const opts = parseWatch(raw);
  checkBpfUsable(opts);
  checkPsiTriggers(opts.psiTriggers, opts.procRoot);
  const collector = openWatchCollector(opts);
  await startTracking(collector, opts, true, info);
  const log = raw.quiet ? null : info;
  const watcher = await withPsiTriggers(openWatcher(opts, log, collector), opts, log);
  await runWatch(watcher, { intervalMs: opts.intervalMs, count: opts.count, signal: stopping }, (s) => {
    write(render(s, opts.format, true));
    if (opts.format !== 'json') write('\n');
  });
}
