/** The flame graph's tree, layout and colours (src/format/flame-tree.ts), shared by the SVG and the dashboard. */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildFlameTree, type FlameNode, frameColour, USER_MARK } from '../../src/format/flame-tree.ts';

const find = (n: FlameNode, path: string[]): FlameNode => path.reduce((x, name) => x.children.find((c) => c.name === name)!, n);

test('stacks merge by prefix; values are task observations; non-positive counts are left out', () => {
  const { root, depth } = buildFlameTree([
    { frames: ['dd', 'a', 'b'], count: 2 },
    { frames: ['dd', 'a', 'c'], count: 3 },
    { frames: ['cp', 'a'], count: 1 },
    { frames: ['zz', 'x', 'y', 'z', 'w'], count: 0 },
    { frames: ['nan'], count: Number.NaN },
  ]);
  assert.equal(depth, 3, 'the left-out stacks do not count for the depth');
  assert.deepEqual([root.name, root.value, root.level, root.parent], ['all', 6, 0, null]);
  assert.deepEqual(
    root.children.map((c) => [c.name, c.value]),
    [
      ['cp', 1],
      ['dd', 5],
    ],
  );
  const a = find(root, ['dd', 'a']);
  assert.deepEqual([a.value, a.level, a.parent?.name], [5, 2, 'dd']);
  assert.deepEqual(
    a.children.map((c) => [c.name, c.value]),
    [
      ['b', 2],
      ['c', 3],
    ],
  );
});

test('layout: children in name order, each starting where its left sibling ends, under its parent', () => {
  const { root } = buildFlameTree([
    { frames: ['b', 'y'], count: 4 },
    { frames: ['a', 'z'], count: 1 },
    { frames: ['b', 'x'], count: 2 },
    { frames: ['a', 'q'], count: 3 },
  ]);
  const layout = (n: FlameNode): unknown[] => [n.name, n.start, n.value, n.children.map(layout)];
  assert.deepEqual(layout(root), [
    'all',
    0,
    10,
    [
      [
        'a',
        0,
        4,
        [
          ['q', 0, 3, []],
          ['z', 3, 1, []],
        ],
      ],
      [
        'b',
        4,
        6,
        [
          ['x', 4, 2, []],
          ['y', 6, 4, []],
        ],
      ],
    ],
  ]);
});

test('an empty graph is a root of value 0 and depth 0', () => {
  const { root, depth } = buildFlameTree([]);
  assert.deepEqual([root.value, root.children.length, depth], [0, 0, 0]);
});

test('colours: grey root, lilac pseudo-frames, warm kernel frames, aqua user frames; the same name, the same colour', () => {
  const rgb = (c: string): number[] => /^rgb\((\d+),(\d+),(\d+)\)$/.exec(c)!.slice(1).map(Number);
  assert.equal(frameColour('anything', 0), 'rgb(200,200,200)');
  assert.equal(frameColour('[R: no kernel stack]', 2), 'rgb(190,190,210)');
  for (const name of ['io_schedule', 'kernel_clone', 'rwsem_down_write_slowpath', 'x']) {
    const [r, g, b] = rgb(frameColour(name, 3));
    assert.ok(r! >= 205 && r! < 255 && g! >= 80 && g! < 210 && b! < 55, `${name}: warm`);
    assert.equal(frameColour(name, 3), frameColour(name, 7), 'by name, not by level');
    const [ur, ug, ub] = rgb(frameColour(`${name}${USER_MARK}`, 3));
    assert.ok(ur! >= 50 && ur! < 110 && ug! >= 170 && ug! < 230 && ub! >= 170 && ub! < 230, `${name}: aqua`);
  }
  assert.notEqual(frameColour('io_schedule', 2), frameColour('kernel_clone', 2));
});
