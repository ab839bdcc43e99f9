#!/usr/bin/env node
/**
 * The layering check of src/ (issue 12, item 1): imports go down the layers
 * listed in .layers.json, or sideways within one folder; nothing imports the
 * top layer; no file imports itself back through a chain (a cycle).
 *
 * Imports are read with TypeScript's own pre-processor (ts.preProcessFile), so
 * `import type`, `export … from` and `import()` count like any import: a type
 * pulled from a higher layer ties the two folders as surely as a value does.
 * Only relative specifiers are checked; packages and node: built-ins are not
 * part of the picture.
 *
 * Usage: node --import tsx scripts/check-layers.ts [rules.json]
 * Prints one line per problem, naming the file and the import; exit 1 if any.
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

import ts from 'typescript';

/** One layer: its units, and why it sits where it does (for people; not checked). */
export interface Layer {
  /**
   * Folders under root, files directly in root, or a single file deeper down
   * (`format/escape.ts`) that is placed apart from the rest of its folder.
   */
  units: string[];
  note?: string;
}

/** The rules file: a root folder and its layers, top first. */
export interface LayerRules {
  /** Folder checked, relative to the rules file. */
  root: string;
  layers: Layer[];
}

export interface Problem {
  /** File (relative to root) that holds the offending import, or the first file of a cycle. */
  file: string;
  /** The import as written, or the cycle as a chain of files. */
  import: string;
  message: string;
}

/** Every .ts file under `dir`, as paths relative to `root`, sorted. */
function listSources(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listSources(root, full));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, full).split(sep).join('/'));
  }
  return out;
}

/** Relative specifiers a source imports, re-exports or loads with import(). */
export function importsOf(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/**
 * The file a relative specifier names, relative to root, or null when it
 * names nothing. The sources import './x.ts'; './x.js' and './x' are
 * accepted too since TypeScript resolves them to the same file.
 */
function resolveSpecifier(root: string, from: string, spec: string): string | null {
  const base = resolve(root, dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  for (const c of candidates) {
    if (c.endsWith('.ts') && existsSync(c) && statSync(c).isFile()) return relative(root, c).split(sep).join('/');
  }
  return null;
}

/**
 * The unit a file belongs to: itself when the rules place it apart, else its
 * first folder under root, or its own name for a top-level file.
 */
function unitOf(file: string, index: Map<string, number>): string {
  if (index.has(file)) return file;
  const slash = file.indexOf('/');
  return slash < 0 ? file : file.slice(0, slash);
}

/** Unit name -> layer index (0 is the top). */
function layerIndex(rules: LayerRules): Map<string, number> {
  const index = new Map<string, number>();
  rules.layers.forEach((layer, i) => {
    for (const u of layer.units) {
      if (index.has(u)) throw new Error(`check-layers: '${u}' is listed in two layers`);
      index.set(u, i);
    }
  });
  return index;
}

/** Why an import from `fromUnit` to `toUnit` is not allowed, or null if it is. */
function edgeProblem(index: Map<string, number>, fromUnit: string, toUnit: string): string | null {
  if (fromUnit === toUnit) return null;
  const from = index.get(fromUnit)!;
  const to = index.get(toUnit);
  if (to === undefined) return `imports ${toUnit}, which is in no layer`;
  if (to === 0) return `imports ${toUnit}, the top layer: nothing imports it`;
  if (to < from) return `upward import: ${fromUnit} (layer ${from + 1}) imports ${toUnit} (layer ${to + 1})`;
  if (to === from) return `sideways import between ${fromUnit} and ${toUnit} (same layer; sideways only within one folder)`;
  return null;
}

/** Strongly connected components of size > 1, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    order.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) !== order.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!order.has(v)) visit(v);
  return found;
}

/** One concrete loop through a component, starting at its first file (breadth-first, shortest). */
function loopThrough(graph: Map<string, string[]>, scc: string[]): string[] {
  const inside = new Set(scc);
  const start = scc[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc, start];
}

/** Every problem of the tree at `rootDir` under `rules`, in file order. */
export function checkLayers(rootDir: string, rules: LayerRules): Problem[] {
  const index = layerIndex(rules);
  const problems: Problem[] = [];
  const graph = new Map<string, string[]>();
  for (const file of listSources(rootDir)) {
    const unit = unitOf(file, index);
    if (!index.has(unit)) problems.push({ file, import: '', message: `${unit} is in no layer (add it to the rules)` });
    const targets: string[] = [];
    for (const spec of importsOf(readFileSync(join(rootDir, file), 'utf8'))) {
      const target = resolveSpecifier(rootDir, file, spec);
      if (target === null || target.startsWith('../')) {
        problems.push({ file, import: spec, message: target === null ? 'names no file' : `leaves ${rules.root}/` });
        continue;
      }
      targets.push(target);
      const why = index.has(unit) ? edgeProblem(index, unit, unitOf(target, index)) : null;
      if (why !== null) problems.push({ file, import: spec, message: why });
    }
    graph.set(file, targets);
  }
  for (const scc of cycles(graph)) {
    const loop = loopThrough(graph, scc);
    problems.push({ file: loop[0]!, import: loop.join(' -> '), message: 'import cycle' });
  }
  return problems;
}

/** Reads the rules file and checks the tree it names. */
export function checkRulesFile(rulesPath: string): { root: string; problems: Problem[] } {
  const rules = JSON.parse(readFileSync(rulesPath, 'utf8')) as LayerRules;
  const rootDir = resolve(dirname(rulesPath), rules.root);
  return { root: rules.root, problems: checkLayers(rootDir, rules) };
}

function main(): void {
  const rulesPath = resolve(process.argv[2] ?? '.layers.json');
  const { root, problems } = checkRulesFile(rulesPath);
  for (const p of problems) {
    const what = p.import === '' ? '' : ` '${p.import}'`;
    console.error(`${root}/${p.file}:${what} ${p.message}`);
  }
  if (problems.length > 0) {
    console.error(`check-layers: ${problems.length} problem(s); the layers are in ${relative(process.cwd(), rulesPath)}`);
    process.exit(1);
  }
  console.log(`check-layers: ${root}/ follows ${relative(process.cwd(), rulesPath)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
