/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * one "sampled" profile whose samples are the folded stacks (root first, as
 * the format wants) weighted by their task counts. Frames are shared by name.
 *
 * Although a JSON file, it is a rendering for people (speedscope shows the
 * names as they are), and JSON escaping leaves C1 and bidi controls raw: the
 * frame names are the folded ones, escaped (escape.ts), and so is the
 * profile's name. The real values are in the snapshot JSON.
 */

import { escapeText } from './escape.ts';
import type { FoldedStack } from './folded.ts';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: Array<{ name: string }> };
  profiles: Array<{
    type: 'sampled';
    name: string;
    unit: 'none';
    startValue: number;
    endValue: number;
    samples: number[][];
    weights: number[];
  }>;
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export function toSpeedscope(stacks: readonly FoldedStack[], title: string, exporter: string): SpeedscopeFile {
  const name = escapeText(title);
  const index = new Map<string, number>();
  const frames: Array<{ name: string }> = [];
  const samples: number[][] = [];
  const weights: number[] = [];
  for (const s of stacks) {
    samples.push(
      s.frames.map((f) => {
        let i = index.get(f);
        if (i === undefined) {
          i = frames.length;
          index.set(f, i);
          frames.push({ name: f });
        }
        return i;
      }),
    );
    weights.push(s.count);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  return {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles: [{ type: 'sampled', name, unit: 'none', startValue: 0, endValue: total, samples, weights }],
    name,
    activeProfileIndex: 0,
    exporter,
  };
}
