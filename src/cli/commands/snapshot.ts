import { openCollector, snapshotNeeds } from '../../collect/select.ts';
import { render } from '../../format/index.ts';
import { DEFAULT_BPF_SNAPSHOT_PROFILE_MS, parseCommon, type RawCommon } from '../options.ts';
import { write } from '../output.ts';

export async function snapshotCommand(raw: RawCommon): Promise<void> {
  const opts = parseCommon(raw);
  // One-shot: read stacks in-process under a watchdog thread instead of starting a child process.
  // On-CPU sampling (user stacks of R tasks) is on by default only when bpf was asked for by
  // name: under --source auto a snapshot stays instantaneous, and is taken with procfs (or the
  // module) unless --profile asks for user stacks, which only bpf has.
  const profileMs = opts.profileMs ?? (opts.source === 'bpf' ? DEFAULT_BPF_SNAPSHOT_PROFILE_MS : 0);
  const collector = openCollector(
    opts.source,
    opts.procRoot,
    snapshotNeeds(profileMs),
    { details: 'watchdog', emergency: { format: opts.format, stream: false } },
    { profileMs },
  );
  try {
    const snap = await collector.capture({ depth: opts.depth });
    write(render(snap, opts.format, false));
  } finally {
    collector.close();
  }
}
