import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGraph, createEngine, target, type GraphDefinition, type BuildSummary } from '../../../lib/index.js';
import { definitionJson, definitionJsonSlow, plainPath } from '../../../lib/run/engine.js';
import { age, tempRoot } from './helpers.js';

const statuses = (s: BuildSummary): Record<string, string> => Object.fromEntries(Object.entries(s.targets).map(([k, v]) => [k, v.status]));

test('definitionJson is byte-identical to the generic stableJson form (recorded keys stay valid)', () => {
  const a = target({ name: 'a', run: async () => 1 });
  const b = target({ name: 'b', run: async () => 2 });
  const c = target({
    name: 'c',
    deps: { zeta: a, alpha: b },
    after: [a],
    inputs: ['x/**', 'y.txt'],
    env: ['B', 'A'],
    tools: ['ninja', { name: 'qemu-img', args: ['--version', '-q'] }, { name: 'make' }],
    pool: 'vm',
    always: true,
    params: { z: 1, a: [2, { y: 3, b: 4 }] },
    outputFiles: (o: { f: string }) => [o.f],
    probe: async () => true as const,
    run: async () => ({ f: '/x' }),
  });
  const g = buildGraph({ targets: [a, b, c], pools: { vm: 1 } });
  for (const n of g.nodes) assert.is(definitionJson(n), definitionJsonSlow(n), n.name);
});

test('no-op decided by stats alone; a touch with the same content stays cached and re-learns the stamps', async () => {
  const root = tempRoot();
  writeFileSync(join(root, 'in.txt'), 'same');
  age(join(root, 'in.txt'));
  const out = join(root, 'out.txt');
  let runs = 0;
  const t = target({
    name: 't',
    inputs: ['in.txt'],
    outputFiles: (o: { out: string }) => [o.out],
    run: async () => (runs++, writeFileSync(out, readFileSync(join(root, 'in.txt'))), age(out), { out }),
  });
  const def: GraphDefinition = { targets: [t] };
  const build = (): Promise<BuildSummary> => createEngine({ root, definition: def, jobs: 1 }).build(['t']);
  assert.equal(statuses(await build()), { t: 'built' });
  // The stamp table is not needed on a no-op: remove it and nothing is hashed.
  rmSync(join(root, '.pharos', 'stamps.json'), { force: true });
  let s = await build();
  assert.equal(statuses(s), { t: 'cached' });
  assert.is(s.hashed.files, 0);
  // Same content, new mtime: the slow path hashes it, stays cached, and records the new fingerprint.
  const later = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'in.txt'), later, later);
  s = await build();
  assert.equal(statuses(s), { t: 'cached' });
  assert.is(s.hashed.files, 2, 'input and output are hashed once (the stamp table was removed)');
  s = await build();
  assert.equal(statuses(s), { t: 'cached' });
  assert.is(s.hashed.files, 0);
  // Output touched: still cached; output content changed: rebuilt.
  utimesSync(out, later, later);
  assert.equal(statuses(await build()), { t: 'cached' });
  writeFileSync(out, 'tampered');
  s = await build();
  assert.equal(statuses(s), { t: 'built' });
  assert.match(s.targets.t!.reason!, /output .*out\.txt changed/);
  assert.is(runs, 2);
  // Input content changed: rebuilt with the reason naming it.
  writeFileSync(join(root, 'in.txt'), 'different');
  s = await build();
  assert.equal(statuses(s), { t: 'built' });
  assert.match(s.targets.t!.reason!, /input in\.txt changed/);
  assert.ok(existsSync(join(root, '.pharos', 'stamps.json')));
});

test('a probe still runs when the fingerprint matches', async () => {
  const root = tempRoot();
  let alive = true;
  let runs = 0;
  const t = target({ name: 'p', probe: async () => (alive ? true : 'gone'), run: async () => (runs++, { ok: 1 }) });
  const build = (): Promise<BuildSummary> => createEngine({ root, definition: { targets: [t] }, jobs: 1 }).build(['p']);
  assert.equal(statuses(await build()), { p: 'built' });
  assert.equal(statuses(await build()), { p: 'cached' });
  alive = false;
  const s = await build();
  assert.equal(statuses(s), { p: 'built' });
  assert.is(s.targets.p!.reason, 'probe: gone');
  assert.is(runs, 2);
});

test('a no-op over directory and glob inputs writes no state', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'src', 'sub'), { recursive: true });
  writeFileSync(join(root, 'src', 'a.txt'), 'a');
  writeFileSync(join(root, 'src', 'sub', 'b.txt'), 'b');
  writeFileSync(join(root, 'c.md'), 'c');
  age(join(root, 'src', 'a.txt'), join(root, 'src', 'sub', 'b.txt'), join(root, 'c.md'));
  const outFile = join(root, 'out.txt');
  let runs = 0;
  const t = target({
    name: 'd',
    inputs: ['src', '*.md', 'missing.txt'],
    outputFiles: (o: { file: string }) => [o.file],
    run: async () => (runs++, writeFileSync(outFile, 'out'), age(outFile), { file: outFile }),
  });
  const build = (): Promise<BuildSummary> => createEngine({ root, definition: { targets: [t] }, jobs: 1 }).build(['d']);
  assert.equal(statuses(await build()), { d: 'built' });
  const state = join(root, '.pharos', 'state.json');
  const before = statSync(state, { bigint: true }).mtimeNs;
  const s = await build();
  assert.equal(statuses(s), { d: 'cached' });
  assert.is(s.hashed.files, 0);
  assert.is(statSync(state, { bigint: true }).mtimeNs, before, 'a stat-only no-op rewrites nothing');
  writeFileSync(join(root, 'src', 'sub', 'b.txt'), 'B');
  const s2 = await build();
  assert.equal(statuses(s2), { d: 'built' });
  assert.match(s2.targets.d!.reason!, /input src\/sub\/b\.txt changed/);
  writeFileSync(join(root, 'missing.txt'), 'now here');
  assert.match((await build()).targets.d!.reason!, /input missing\.txt changed/);
  assert.is(runs, 3);
});

test('a negated pattern also excludes a plain path listed before it', async () => {
  const root = tempRoot();
  writeFileSync(join(root, 'keep.txt'), 'k');
  writeFileSync(join(root, 'skip.txt'), 's');
  let runs = 0;
  const t = target({ name: 'n', inputs: ['keep.txt', 'skip.txt', '!skip.txt'], run: async () => (runs++, 1) });
  const build = (): Promise<BuildSummary> => createEngine({ root, definition: { targets: [t] }, jobs: 1 }).build(['n']);
  assert.equal(statuses(await build()), { n: 'built' });
  writeFileSync(join(root, 'skip.txt'), 'changed');
  assert.equal(statuses(await build()), { n: 'cached' });
  writeFileSync(join(root, 'keep.txt'), 'changed');
  assert.equal(statuses(await build()), { n: 'built' });
  assert.is(runs, 2);
});

test('plainPath accepts only paths that need no resolving or globbing', () => {
  for (const p of ['a', 'a/b.txt', 'in/1/2.txt', '.hidden/x', 'a/.b', 'a..b/c', '...']) assert.ok(plainPath(p), p);
  for (const p of ['', '/abs', 'a/', 'a//b', './a', 'a/./b', 'a/..', '../x', '..', '.', 'a/*.txt', 'x?', 'a[b]', '{a,b}', '!a', 'a\\b']) assert.not.ok(plainPath(p), p);
});

test.run();
