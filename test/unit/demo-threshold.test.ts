import assert from 'node:assert/strict';
import { test } from 'node:test';

import { demoThreshold } from '../../src/cli/commands/demo.ts';

test('demo threshold: reachable after two load updates on a quiet machine, at least 0.2 above now', () => {
  // 8 tasks from 0.3: load1 after 10 s is 0.3*0.846 + 8*0.154 = 1.48; 90% of it.
  assert.equal(demoThreshold(0.3, 8), 1.33);
  // Close to the prediction already: at least a visible climb of 0.2.
  assert.equal(demoThreshold(4.2, 8), 4.4);
});

test('demo threshold: on a loaded, decaying machine it is below load1, so the capture comes at once', () => {
  const t = demoThreshold(24.5, 8);
  assert.ok(t < 24.5, String(t));
});
