/** Builders for report parts (src/model/report.ts) in tests that need a report without a store. */

import type { LoadAttribution } from '../../src/model/report.ts';

/** A replay's `at_end` that attributed nothing: one update at time 0, the kernel's and the model's load1 as given. */
export function emptyAtEnd(kernelLoad1: number, modelLoad1: number): LoadAttribution {
  return {
    at_ms: 0,
    kernel_load1: kernelLoad1,
    model_load1: modelLoad1,
    processes: [],
    cgroups: [],
    states: { R: 0, D: 0 },
    before_window: 0,
    not_scanned: 0,
    updates: 1,
  };
}
