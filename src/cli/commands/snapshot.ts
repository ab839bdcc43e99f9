import { openCollector } from '../../collect/select.ts';
import { render } from '../../format/index.ts';
import { parseCommon, type RawCommon } from '../options.ts';
import { write } from '../output.ts';

export async function snapshotCommand(raw: RawCommon): Promise<void> {
  const opts = parseCommon(raw);
  // One-shot: read stacks in-process under a watchdog thread instead of starting a child process.
  const collector = openCollector(opts.source, opts.procRoot, {
    details: 'watchdog',
    emergency: { format: opts.format, stream: false },
  });
  try {
    const snap = await collector.capture({ depth: opts.depth });
    write(render(snap, opts.format, false));
  } finally {
    collector.close();
  }
}
