/**
 * The published schemas themselves (docs/schema/): they compile in ajv's
 * strict mode, every object they describe is closed, every property name
 * they allow is snake_case (so a camelCase key cannot be added to an output
 * without the schema test failing), they reject what loadmon must never
 * write, and the docs link each of them. The real outputs are validated in
 * test/e2e/json-schema.test.ts.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { ROOT } from '../helpers/fixtures.ts';
import { assertSchema, nonSnakeKeys, schemaErrors, schemaFiles } from '../helpers/json-schema.ts';
import { emptyAtEnd } from '../helpers/report.ts';
import { verdictFixtures } from '../helpers/web.ts';

type Node = Record<string, unknown>;

/** Every subschema of `node` with its JSON pointer, depth first. */
function subschemas(node: unknown, ptr = '#'): Array<[string, Node]> {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const out: Array<[string, Node]> = [[ptr, node as Node]];
  for (const [k, v] of Object.entries(node as Node)) {
    if (k === 'properties' || k === '$defs') {
      for (const [name, s] of Object.entries(v as Node)) out.push(...subschemas(s, `${ptr}/${k}/${name}`));
    } else if (k === 'anyOf' || k === 'allOf' || k === 'oneOf') {
      for (const [i, s] of (v as unknown[]).entries()) out.push(...subschemas(s, `${ptr}/${k}/${i}`));
    } else if (k === 'items' || k === 'contains') {
      out.push(...subschemas(v, `${ptr}/${k}`));
    }
  }
  return out;
}

test('every schema is draft 2020-12, named by its file, and compiles in strict mode', () => {
  const files = schemaFiles();
  for (const want of [
    'snapshot',
    'report',
    'kmod-status',
    'doctor',
    'api-meta',
    'api-timeline',
    'api-captures',
    'api-capture',
    'api-flame',
    'api-error',
  ]) {
    assert.ok(files.has(`${want}.schema.json`), `docs/schema/${want}.schema.json exists`);
  }
  for (const [file, schema] of files) {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', file);
    assert.equal(schema.$id, file, `${file}: $id is the file name, so the other files' $refs resolve`);
    // Compiling resolves every $ref: a dangling one throws here.
    assert.doesNotThrow(() => schemaErrors(file, null), file);
  }
});

test('every object a schema describes is closed, and every property name it allows is snake_case', () => {
  for (const [file, schema] of schemaFiles()) {
    for (const [ptr, s] of subschemas(schema)) {
      if (s.properties === undefined) continue;
      // *_props definitions are shared property lists, closed where they are used.
      if (!ptr.endsWith('_props')) {
        assert.ok(s.additionalProperties === false || s.unevaluatedProperties === false, `${file}${ptr} is not closed`);
      }
      const names = Object.keys(s.properties as Node).filter((n) => !(ptr.endsWith('/states') && (n === 'R' || n === 'D')));
      assert.deepEqual(nonSnakeKeys(Object.fromEntries(names.map((n) => [n, 0]))), [], `${file}${ptr}`);
    }
  }
});

test('nonSnakeKeys finds camelCase keys at any depth, inside arrays, once per path', () => {
  const doc = { ok_key: 1, a: [{ fineName: 1 }, { fineName: 2, x: { deepKey: [] } }], states: { R: 1, D: 2 }, other: { R: 1 } };
  assert.deepEqual(nonSnakeKeys(doc), ['.a[].fineName', '.a[].x.deepKey', '.other.R']);
  assert.deepEqual(nonSnakeKeys({ load1: 1, cpu_some: 2, p99_ms: 3 }), []);
  assert.deepEqual(nonSnakeKeys({ _x: 1, x_: 2, 'a-b': 3, '': 4, A: 5 }), ['._x', '.x_', '.a-b', '.', '.A']);
});

test('the verdict fixture snapshots (what the fixture store serves) validate', () => {
  const fixtures = verdictFixtures();
  assert.ok(fixtures.length >= 10);
  for (const { name, snapshot } of fixtures) assertSchema('snapshot.schema.json', snapshot, `fixture ${name}`);
});

function mutated(f: (s: Node) => void): Node {
  const s = structuredClone(verdictFixtures().find((x) => x.name === 'lock')!.snapshot) as unknown as Node;
  f(s);
  return s;
}

test('the snapshot schema refuses what loadmon must never write', () => {
  const cases: Array<[string, (s: Node) => void, string]> = [
    ['a camelCase key', (s) => ((s.capture as Node).threadsScanned = 1), 'additionalProperties'],
    ['a state that is not load', (s) => (((s.tasks as Node[])[0] as Node).state = 'S'), 'enum'],
    ['a missing field', (s) => delete s.notes, 'required'],
    ['another schema version', (s) => (s.schema = 'loadmon.snapshot/v2'), 'const'],
    ['an unknown source', (s) => (s.source = 'ps'), 'enum'],
    ['a time that is not toISOString()', (s) => (s.time = '2026-11-27 13:17:51'), 'pattern'],
    [
      'a kernel address',
      (s) =>
        (s.blocked_recent = {
          window_ms: 1,
          mean_d: 0,
          stacks: [],
          chains: [
            {
              lock: { kind: 'mutex', address: '0xffff8880', name: null },
              waiters: 1,
              waiter_threads: 1,
              waiter_processes: [],
              holder: null,
              holder_cause: null,
              other_holders: 0,
            },
          ],
        }),
      'type',
    ],
  ];
  assertSchema(
    'snapshot.schema.json',
    mutated(() => {}),
    'the unmutated fixture',
  );
  for (const [what, f, keyword] of cases) {
    const errors = schemaErrors('snapshot.schema.json', mutated(f));
    assert.ok(
      errors.some((e) => e.keyword === keyword),
      `${what}: expected a ${keyword} error, got ${JSON.stringify(errors.map((e) => e.keyword))}`,
    );
  }
});

test('the old camelCase keys of at_end and kmod status are refused', () => {
  const atEnd = {
    atMs: 0,
    kernelLoad1: 1,
    modelLoad1: 1,
    processes: [],
    cgroups: [],
    states: { R: 0, D: 0 },
    beforeWindow: 0,
    notScanned: 0,
    updates: 1,
  };
  const report = {
    schema: 'loadmon.report/v1',
    store: 'x.db',
    period: { from: null, to: null },
    host: null,
    cpus: null,
    threshold: null,
    load: null,
    pressure_peak_avg10: {},
    captures: [],
    verdict: [],
    attribution: { method: 'replay', at_end: atEnd, mean: null },
    stacks: [],
    blocked: null,
    evidence: null,
  };
  assert.ok(schemaErrors('report.schema.json', report).some((e) => e.instancePath === '/attribution/at_end'));
  const renamed = emptyAtEnd(1, 1);
  assertSchema('report.schema.json', { ...report, attribution: { ...report.attribution, at_end: renamed } }, 'an empty report');
  const kmod = { kernel: '6.18.0', headers: null, built: false, loaded: false, params: {}, sources: ['procfs'] };
  assertSchema('kmod-status.schema.json', { ...kmod, module_support: false }, 'kmod status');
  assert.ok(schemaErrors('kmod-status.schema.json', { ...kmod, moduleSupport: false }).length > 0);
});

test('the docs link every schema', () => {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => readFileSync(join(ROOT, 'docs', f), 'utf8'))
    .join('\n');
  for (const file of schemaFiles().keys()) assert.ok(docs.includes(`(schema/${file})`), `no docs page links schema/${file}`);
});
