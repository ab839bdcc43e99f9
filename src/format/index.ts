import type { OutputFormat } from '../model/options.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { formatJson } from './json.ts';
import { formatSeed } from './seed.ts';
import { formatText } from './text.ts';

/** Renders one snapshot; `stream` is true for watch output (one JSON object per line). */
export function render(s: Snapshot, format: OutputFormat, stream: boolean): string {
  switch (format) {
    case 'json':
      return formatJson(s, stream);
    case 'seed':
      return formatSeed(s);
    case 'text':
      return formatText(s);
  }
}
