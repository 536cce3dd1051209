/**
 * `build -n` predicts the real build exactly: `would-build` for a target that
 * runs whatever its dependencies give (its own inputs changed, `always`, a
 * probe that fails, never built), `may-cut-off` for one that is up to date if
 * the dependencies that would rebuild give the outputs it was built with
 * (early cutoff), nothing for the rest (`cached`). Each prediction is then
 * checked against the real build of the same state.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, target, type BuildSummary, type GraphDefinition } from '../../../lib/index.js';
import { summaryText } from '../../../lib/run/reporters.js';
import { tempRoot } from './helpers.js';

const statuses = (s: BuildSummary): Record<string, string> => Object.fromEntries(Object.entries(s.targets).map(([k, v]) => [k, v.status]));
const build = (root: string, def: GraphDefinition, dryRun = false) => createEngine({ root, definition: def, jobs: 4, dryRun }).build(['*']);

/**
 * a (input a.txt, output its length) feeds b, which feeds c; d depends on a and
 * has its own input d.txt; e stands alone; f depends on a and has a probe that
 * fails once `gone` exists; g is `always` and feeds h; i is new (never built).
 */
function project(root: string): GraphDefinition {
  writeFileSync(join(root, 'a.txt'), 'one');
  writeFileSync(join(root, 'd.txt'), 'd1');
  const read = (f: string) => readFileSync(join(root, f), 'utf8');
  const a = target({ name: 'a', inputs: ['a.txt'], run: async () => ({ len: read('a.txt').length }) });
  const b = target({ name: 'b', deps: { a }, run: async (ctx) => ({ twice: ctx.deps.a.len * 2 }) });
  const c = target({ name: 'c', deps: { b }, run: async (ctx) => ctx.deps.b.twice + 1 });
  const d = target({ name: 'd', inputs: ['d.txt'], deps: { a }, run: async () => read('d.txt') });
  const e = target({ name: 'e', run: async () => 'e' });
  const f = target({
    name: 'f',
    deps: { a },
    run: async () => 'f',
    probe: async () => (read('a.txt').includes('!') ? 'the resource is gone' : true),
  });
  const g = target({ name: 'g', always: true, run: async () => 'same every time' });
  const h = target({ name: 'h', deps: { g }, run: async (ctx) => `${ctx.deps.g}!` });
  return { targets: [a, b, c, d, e, f, g, h] };
}

test('an edit whose output may come out the same: dependents may be cut off; own changes, probes and always would build', async () => {
  const root = tempRoot('pharos-dry-');
  const def = project(root);
  await build(root, def);
  writeFileSync(join(root, 'a.txt'), 'two'); // same length: a's output will not change
  writeFileSync(join(root, 'd.txt'), 'd2');
  const dry = await build(root, def, true);
  assert.equal(statuses(dry), {
    a: 'would-build',
    b: 'may-cut-off',
    c: 'may-cut-off',
    d: 'would-build',
    e: 'cached',
    f: 'may-cut-off',
    g: 'would-build',
    h: 'may-cut-off',
  });
  assert.match(dry.targets.a!.reason!, /input a\.txt changed/);
  assert.match(dry.targets.d!.reason!, /input d\.txt changed/);
  assert.is(dry.targets.b!.reason, 'dependency a would rebuild; up to date if its output comes out the same');
  assert.is(dry.targets.c!.reason, 'dependency b would rebuild; up to date if its output comes out the same');
  assert.is(dry.targets.g!.reason, 'always runs');
  assert.match(summaryText(dry), /^dry run: 1 up to date, 3 would build, 4 may be cut off in /);
  // The real build: every would-build runs, every may-cut-off is cut off here (a's output is the same), e stays.
  const real = await build(root, def);
  assert.equal(statuses(real), { a: 'built', b: 'cached', c: 'cached', d: 'built', e: 'cached', f: 'cached', g: 'built', h: 'cached' });
});

test('an edit that changes the output: the same prediction, and the real build runs the may-cut-off targets', async () => {
  const root = tempRoot('pharos-dry-');
  const def = project(root);
  await build(root, def);
  writeFileSync(join(root, 'a.txt'), 'three');
  const dry = await build(root, def, true);
  assert.equal(statuses(dry), { a: 'would-build', b: 'may-cut-off', c: 'may-cut-off', d: 'may-cut-off', e: 'cached', f: 'may-cut-off', g: 'would-build', h: 'may-cut-off' });
  const real = await build(root, def);
  assert.equal(statuses(real), { a: 'built', b: 'built', c: 'built', d: 'built', e: 'cached', f: 'built', g: 'built', h: 'cached' });
});

test('a probe that fails under a rebuilding dependency would build; a never-built target would build', async () => {
  const root = tempRoot('pharos-dry-');
  const def = project(root);
  await build(root, def);
  writeFileSync(join(root, 'a.txt'), 'on!'); // same length; f's probe now fails
  const i = target({ name: 'i', deps: { b: def.targets[1]! }, run: async () => 'i' });
  const def2 = { targets: [...def.targets, i] };
  const dry = await build(root, def2, true);
  assert.is(dry.targets.f!.status, 'would-build');
  assert.is(dry.targets.f!.reason, 'probe: the resource is gone');
  assert.is(dry.targets.i!.status, 'would-build');
  assert.is(dry.targets.i!.reason, 'never built');
  const real = await build(root, def2);
  assert.is(real.targets.f!.status, 'built');
  assert.is(real.targets.i!.status, 'built');
  assert.is(real.targets.b!.status, 'cached');
});

test('nothing changed but an always target: only it would build, its dependents may be cut off', async () => {
  const root = tempRoot('pharos-dry-');
  const def = project(root);
  await build(root, def);
  const dry = await build(root, def, true);
  const listed = Object.entries(dry.targets).filter(([, r]) => r.status !== 'cached');
  assert.equal(Object.fromEntries(listed.map(([k, r]) => [k, r.status])), { g: 'would-build', h: 'may-cut-off' });
  assert.equal(statuses(await build(root, def)), { a: 'cached', b: 'cached', c: 'cached', d: 'cached', e: 'cached', f: 'cached', g: 'built', h: 'cached' });
});

test.run();
