/**
 * The published JSON Schemas (docs/schema/*.schema.json, draft 2020-12)
 * compiled once with ajv in strict mode, and the snake_case rule for every
 * key of a public JSON document. Tests feed both real outputs.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';

import { ROOT } from './fixtures.ts';

export const SCHEMA_DIR = join(ROOT, 'docs', 'schema');

/** Every schema file, by file name (`snapshot.schema.json`), parsed. */
export function schemaFiles(): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const f of readdirSync(SCHEMA_DIR)
    .filter((n) => n.endsWith('.schema.json'))
    .sort()) {
    out.set(f, JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8')) as Record<string, unknown>);
  }
  return out;
}

let ajv: Ajv2020 | null = null;

/** One ajv instance holding every schema: cross-file $refs resolve by file name. */
function compiled(): Ajv2020 {
  if (ajv) return ajv;
  // strict: an unknown keyword or format, or an ambiguous type, is a schema error, not ignored.
  // strictRequired is off because objects that share properties ($ref to defs' *_props) list
  // them as required without defining them locally; a misspelt required name still fails
  // every real output. allErrors: a failure names every field that is wrong, not the first.
  const a = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  for (const schema of schemaFiles().values()) a.addSchema(schema);
  for (const id of schemaFiles().keys()) a.getSchema(id);
  ajv = a;
  return a;
}

function describe(errors: readonly ErrorObject[]): string {
  return errors
    .slice(0, 20)
    .map((e) => {
      const named = e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties';
      return `${e.instancePath || '/'} ${e.message ?? ''}${named ? ` (${JSON.stringify(e.params)})` : ''}`;
    })
    .join('\n');
}

/** Every violation of docs/schema/`file` in `data` (empty when it validates). */
export function schemaErrors(file: string, data: unknown): ErrorObject[] {
  const validate = compiled().getSchema(file);
  if (!validate) throw new Error(`no schema ${file} in ${SCHEMA_DIR}`);
  return validate(data) ? [] : [...(validate.errors ?? [])];
}

/** Throws, naming every violation (those `tolerated` left out), unless `data` validates against `file`. */
export function assertSchema(file: string, data: unknown, what = file, tolerated: (e: ErrorObject) => boolean = () => false): void {
  const errors = schemaErrors(file, data).filter((e) => !tolerated(e));
  if (errors.length > 0) throw new Error(`${what} does not validate against ${file}:\n${describe(errors)}`);
}

const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
/**
 * Keys that are data, not names: `states` of the attribution is keyed by the
 * kernel's state letters, the same strings as `tasks[].state`.
 */
const STATE_KEYS = new Set(['R', 'D']);

/** Paths (`.stacks[].distinct_tasks`) of every key in `value` that is not snake_case. */
export function nonSnakeKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => nonSnakeKeys(v, `${path}[]`)))];
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const ok = SNAKE.test(k) || (STATE_KEYS.has(k) && path.endsWith('.states'));
    if (!ok) out.push(`${path}.${k}`);
    out.push(...nonSnakeKeys(v, `${path}.${k}`));
  }
  return [...new Set(out)];
}
