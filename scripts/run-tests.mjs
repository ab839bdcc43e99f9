#!/usr/bin/env node
// Runs loadmon's test suites with node's own test runner. Node 20 does not
// expand globs for --test, so the files are listed here. Suites run one
// after another (integration tests make real load and must not overlap);
// files within a suite run one at a time for the same reason.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ALL = ['unit', 'integration', 'scenario', 'e2e', 'kmod'];
const wanted = process.argv.slice(2);
const suites = wanted.length > 0 ? wanted : ALL;

function find(dir) {
  let out = [];
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let failed = false;
for (const suite of suites) {
  if (!ALL.includes(suite)) {
    console.error(`run-tests: unknown suite '${suite}' (have: ${ALL.join(', ')})`);
    process.exit(2);
  }
  const files = find(join('test', suite));
  if (files.length === 0) continue;
  console.log(`# suite ${suite}: ${files.length} file(s)`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
