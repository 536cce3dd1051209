/**
 * lib/'s import graph has no cycles (value imports; `import type` is erased),
 * and its layers point down: lib/graph never imports lib/run, and only
 * lib/index.ts (the public entry) joins them for programs outside lib/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO } from '../engine/helpers.js';

const LIB = join(REPO, 'lib');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative value imports and re-exports of each file of lib/, as absolute .ts paths. */
function imports(withTypes: boolean): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const f of sources(LIB)) {
    const src = readFileSync(f, 'utf8');
    const to: string[] = [];
    for (const m of src.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) {
      if (m[1] && !withTypes) continue;
      to.push(resolve(dirname(f), m[2]!.replace(/\.js$/, '.ts')));
    }
    edges.set(f, to);
  }
  return edges;
}

test('no import cycles in lib/', () => {
  const edges = imports(false);
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const t of edges.get(f) ?? []) {
      if (state.get(t) === 1) cycles.push([...stack.slice(stack.indexOf(t)), t].map((x) => relative(LIB, x)).join(' -> '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of edges.keys()) if (!state.has(f)) visit(f);
  assert.equal(cycles, []);
});

test('lib/graph does not import lib/run (not even types)', () => {
  const up: string[] = [];
  for (const [f, to] of imports(true)) {
    if (!f.startsWith(join(LIB, 'graph'))) continue;
    for (const t of to) if (t.startsWith(join(LIB, 'run'))) up.push(`${relative(LIB, f)} -> ${relative(LIB, t)}`);
  }
  assert.equal(up, []);
});

test('the public entry exports the graph and the engine', async () => {
  const api = await import('../../../lib/index.js');
  for (const k of ['target', 'alias', 'buildGraph', 'createEngine', 'plainReporter', 'skipText', 'failText']) assert.type((api as Record<string, unknown>)[k], 'function', k);
});

test.run();
