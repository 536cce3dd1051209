import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, rmSync, openSync, ftruncateSync, closeSync, readFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alias, createEngine, target, type GraphDefinition, type Target, type BuildSummary } from '../../../lib/index.js';
import { memoryReporter } from '../../../lib/run/reporters.js';
import { hashStats } from '../../../lib/cache/hash.js';
import { PharosError } from '../../../lib/errors.js';
import { age, tempRoot } from './helpers.js';

function engine(root: string, definition: GraphDefinition, extra: Partial<Parameters<typeof createEngine>[0]> = {}) {
  return createEngine({ root, definition, jobs: 4, ...extra });
}

const statuses = (s: BuildSummary): Record<string, string> => Object.fromEntries(Object.entries(s.targets).map(([k, v]) => [k, v.status]));

test('up-to-date detection, input change, early cutoff', async () => {
  const root = tempRoot();
  writeFileSync(join(root, 'a.txt'), 'one');
  const runs: string[] = [];
  const a = target({ name: 'a', inputs: ['a.txt'], run: async (ctx) => (runs.push('a'), { len: readFileSync(join(ctx.root, 'a.txt'), 'utf8').length }) });
  const b = target({ name: 'b', deps: { a }, run: async (ctx) => (runs.push('b'), { double: ctx.deps.a.len * 2 }) });
  const def = { targets: [a, b], aliases: [alias('all', [b])] };
  let s = await engine(root, def).build(['all']);
  assert.equal(statuses(s), { a: 'built', b: 'built' });
  s = await engine(root, def).build(['all']);
  assert.equal(statuses(s), { a: 'cached', b: 'cached' });
  assert.equal(runs, ['a', 'b']);
  // Same length: a rebuilds, its output digest is unchanged, b is cut off.
  writeFileSync(join(root, 'a.txt'), 'two');
  const e = engine(root, def);
  assert.match(await e.explain('a'), /input a\.txt changed \(sha256 [0-9a-f]{12}… -> sha256 [0-9a-f]{12}…\)/);
  s = await e.build(['b']);
  assert.equal(statuses(s), { a: 'built', b: 'cached' });
  writeFileSync(join(root, 'a.txt'), 'three');
  s = await engine(root, def).build(['b']);
  assert.equal(statuses(s), { a: 'built', b: 'built' });
  assert.match(s.targets.b!.reason!, /dependency a output changed/);
  assert.equal(runs, ['a', 'b', 'a', 'a', 'b']);
});

test('negated input patterns exclude files from the whole input list', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'role/tasks'), { recursive: true });
  writeFileSync(join(root, 'role/tasks/install.yml'), 'install');
  writeFileSync(join(root, 'role/tasks/configure.yml'), 'configure');
  writeFileSync(join(root, 'README.md'), 'readme');
  const a = target({ name: 'a', inputs: ['role/**', '!role/tasks/configure.yml'], run: async () => 1 });
  const def = { targets: [a] };
  assert.equal(statuses(await engine(root, def).build(['a'])), { a: 'built' });
  // Neither the excluded file nor a file outside every positive pattern is an input.
  writeFileSync(join(root, 'role/tasks/configure.yml'), 'configure, edited');
  writeFileSync(join(root, 'README.md'), 'readme, edited');
  assert.equal(statuses(await engine(root, def).build(['a'])), { a: 'cached' });
  writeFileSync(join(root, 'role/tasks/install.yml'), 'install, edited');
  const e = engine(root, def);
  assert.match(await e.explain('a'), /input role\/tasks\/install\.yml changed/);
  assert.equal(statuses(await e.build(['a'])), { a: 'built' });
});

test('definition change rebuilds only that target and dependents whose inputs changed', async () => {
  const root = tempRoot();
  const runs: string[] = [];
  const mk = (v: 1 | 2) => {
    const a =
      v === 1
        ? target({ name: 'a', run: async () => (runs.push('a'), { x: 1 }) })
        : target({ name: 'a', run: async () => (runs.push('a'), { x: Number('1') }) });
    const b = target({ name: 'b', deps: { a }, run: async (ctx) => (runs.push('b'), { y: ctx.deps.a.x }) });
    const c = target({ name: 'c', params: { v: 1 }, run: async () => (runs.push('c'), 0) });
    return { targets: [a, b, c] as Target<unknown>[] };
  };
  await engine(root, mk(1)).build(['b', 'c']);
  const e = engine(root, mk(2));
  assert.match(await e.explain('a'), /^a: definition changed/);
  const s = await e.build(['b', 'c']);
  assert.equal(statuses(s), { a: 'built', b: 'cached', c: 'cached' });
  // Params are part of the key too; why names the changed field.
  const c2 = target({ name: 'c', params: { v: 2 }, run: async () => (runs.push('c'), 0) });
  const e2 = engine(root, { targets: [c2] });
  assert.is(await e2.explain('c'), 'c: params v changed (1 -> 2)');
  assert.equal([...runs].sort(), ['a', 'a', 'b', 'c']);
});

test('stat fast path: an unchanged big file is not read again', async () => {
  const root = tempRoot();
  const big = join(root, 'big.img');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, 256 * 1024 * 1024);
  closeSync(fd);
  writeFileSync(join(root, 'small.txt'), 'x');
  age(big, join(root, 'small.txt'));
  const t = target({ name: 'img', inputs: ['big.img', 'small.txt'], run: async () => 1 });
  const s1 = await engine(root, { targets: [t] }).build(['img']);
  assert.is(s1.hashed.bytes, 256 * 1024 * 1024 + 1, 'cold build reads every byte once');
  const before = hashStats.bytes;
  const t0 = performance.now();
  const s2 = await engine(root, { targets: [t] }).build(['img']);
  const ms = performance.now() - t0;
  assert.is(s2.targets.img!.status, 'cached');
  assert.is(s2.hashed.bytes, 0, 'no-op build reads nothing');
  assert.is(hashStats.bytes, before);
  assert.ok(ms < 500, `no-op check took ${ms} ms`);
  // Touching only the small file re-reads only the small file.
  writeFileSync(join(root, 'small.txt'), 'y');
  const s3 = await engine(root, { targets: [t] }).build(['img']);
  assert.is(s3.hashed.bytes, 1);
  assert.is(s3.targets.img!.status, 'built');
});

test('graph checks: cycle path, duplicates, unknown deps, close names', async () => {
  const root = tempRoot();
  const deps: Record<string, Target<unknown>> = {};
  const a = target({ name: 'a', deps, run: async () => 1 });
  const b = target({ name: 'b', deps: { a }, run: async () => 1 });
  const c = target({ name: 'c', deps: { b }, run: async () => 1 });
  deps.c = c;
  try {
    engine(root, { targets: [a, b, c] });
    assert.unreachable('cycle accepted');
  } catch (e) {
    assert.instance(e, PharosError);
    assert.match((e as Error).message, /dependency cycle: (a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)/);
  }
  const x1 = target({ name: 'x', run: async () => 1 });
  const x2 = target({ name: 'x', run: async () => 2 });
  const orphan = target({ name: 'orphan', run: async () => 1 });
  const y = target({ name: 'y', deps: { orphan }, run: async () => 1 });
  try {
    engine(root, { targets: [x1, x2, y] });
    assert.unreachable();
  } catch (e) {
    const text = (e as PharosError).problems.map((d) => d.message).join('\n');
    assert.match(text, /duplicate target name "x"/);
    assert.match(text, /target "y" depends on \(deps.orphan\) "orphan", which is not in the graph/);
  }
  const img = target({ name: 'image:hpc-compute', run: async () => 1 });
  const img2 = target({ name: 'image:hpc-controller', run: async () => 1 });
  const e = engine(root, { targets: [img, img2] });
  try {
    await e.build(['image:hpc-compte']);
    assert.unreachable();
  } catch (err) {
    assert.is((err as PharosError).message, 'unknown target "image:hpc-compte"');
    assert.match((err as PharosError).hint!, /did you mean: image:hpc-compute/);
  }
  const s = await e.build(['image:*']);
  assert.equal(Object.keys(s.targets).sort(), ['image:hpc-compute', 'image:hpc-controller']);
});

test('pools never exceed capacity; -j bounds everything', async () => {
  const root = tempRoot();
  let inPool = 0;
  let maxPool = 0;
  let all = 0;
  let maxAll = 0;
  const mk = (i: number, pool?: string) =>
    target({
      name: `t${i}${pool ? `-${pool}` : ''}`,
      pool,
      run: async () => {
        all++;
        maxAll = Math.max(maxAll, all);
        if (pool) maxPool = Math.max(maxPool, ++inPool);
        await sleep(15);
        if (pool) inPool--;
        all--;
        return i;
      },
    });
  const targets = [...Array.from({ length: 8 }, (_, i) => mk(i, 'vm')), ...Array.from({ length: 6 }, (_, i) => mk(i))];
  const s = await engine(root, { targets, pools: { vm: 2 } }, { jobs: 5 }).build(['t*']);
  assert.is(s.counts.built, 14);
  assert.is(maxPool, 2);
  assert.ok(maxAll <= 5, `max concurrency ${maxAll}`);
  assert.is(maxAll, 5);
});

test('critical-path-first: the long chain starts first at -j1', async () => {
  const root = tempRoot();
  const order: string[] = [];
  const t = (name: string, ms: number, deps: Record<string, Target<unknown>> = {}) =>
    target({ name, deps, always: true, run: async () => (order.push(name), await sleep(ms), 0) });
  const shorts = [t('s1', 1), t('s2', 1), t('s3', 1)];
  const l1 = t('l1', 40);
  const l2 = t('l2', 40, { l1 });
  const def = { targets: [...shorts, l1, l2] };
  await engine(root, def, { jobs: 1 }).build(['s1', 's2', 's3', 'l2']); // records durations
  order.length = 0;
  await engine(root, def, { jobs: 1 }).build(['s1', 's2', 's3', 'l2']);
  assert.is(order[0], 'l1', `order was ${order.join(',')}`);
});

test('failure stops launching; -k keeps going; dependents are skipped', async () => {
  const root = tempRoot();
  const ran: string[] = [];
  const f = target({ name: 'f', run: async (ctx) => (ctx.log('about to fail'), ran.push('f'), Promise.reject(new PharosError('boom'))) });
  const d = target({ name: 'd', deps: { f }, run: async () => (ran.push('d'), 1) });
  const xs = ['x1', 'x2'].map((n) => target({ name: n, run: async () => (ran.push(n), 1) }));
  const def = { targets: [f, d, ...xs] };
  const mem = memoryReporter();
  let s = await engine(root, def, { jobs: 1, reporter: mem }).build(['f', 'd', 'x1', 'x2']);
  assert.is(s.ok, false);
  assert.equal(statuses(s), { f: 'failed', d: 'skipped', x1: 'skipped', x2: 'skipped' });
  assert.equal(ran, ['f']);
  const done = mem.events.find((e) => e.type === 'target-done' && e.name === 'f');
  assert.ok(done && done.type === 'target-done' && done.logTail!.includes('about to fail'));
  assert.ok(done && done.type === 'target-done' && done.logTail!.includes('boom'));
  ran.length = 0;
  s = await engine(root, def, { jobs: 1, keepGoing: true }).build(['f', 'd', 'x1', 'x2']);
  assert.equal(statuses(s), { f: 'failed', d: 'skipped', x1: 'built', x2: 'built' });
  assert.is(s.targets.d!.reason, 'dependency f failed');
});

test('dry run reports what would run and why, runs and records nothing', async () => {
  const root = tempRoot();
  writeFileSync(join(root, 'in.txt'), '1');
  let runs = 0;
  const a = target({ name: 'a', inputs: ['in.txt'], run: async () => (runs++, 1) });
  const b = target({ name: 'b', deps: { a }, run: async () => (runs++, 2) });
  await engine(root, { targets: [a, b] }).build(['b']);
  writeFileSync(join(root, 'in.txt'), '22');
  const s = await engine(root, { targets: [a, b] }, { dryRun: true }).build(['b']);
  assert.equal(statuses(s), { a: 'would-build', b: 'may-cut-off' });
  assert.match(s.targets.a!.reason!, /input in.txt changed/);
  assert.is(s.targets.b!.reason, 'dependency a would rebuild; up to date if its output comes out the same');
  assert.is(runs, 2);
  assert.match(await engine(root, { targets: [a, b] }).explain('a'), /input in.txt changed/);
});

test('missing output files and stale probes are misses; ctx.previous is the last output', async () => {
  const root = tempRoot();
  const out = join(root, 'out.bin');
  let alive = true;
  const prevs: unknown[] = [];
  const t = target({
    name: 'o',
    run: async (ctx) => (prevs.push(ctx.previous), writeFileSync(out, 'data'), { path: out, n: prevs.length }),
    outputFiles: (o) => [o.path],
    probe: async () => (alive ? true : 'domain is gone'),
  });
  const def = { targets: [t] };
  assert.is((await engine(root, def).build(['o'])).targets.o!.status, 'built');
  assert.is((await engine(root, def).build(['o'])).targets.o!.status, 'cached');
  rmSync(out);
  let s = await engine(root, def).build(['o']);
  assert.is(s.targets.o!.reason, `output ${out} is missing`);
  alive = false;
  s = await engine(root, def).build(['o']);
  assert.is(s.targets.o!.reason, 'probe: domain is gone');
  assert.equal(prevs, [undefined, { path: out, n: 1 }, { path: out, n: 2 }]);
});

test('directory and glob inputs: added files are changes', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'src/sub'), { recursive: true });
  writeFileSync(join(root, 'src/a.yml'), 'a');
  writeFileSync(join(root, 'src/sub/b.yml'), 'b');
  const d = target({ name: 'dir', inputs: ['src'], run: async () => 1 });
  const g = target({ name: 'glob', inputs: ['src/**/*.yml'], run: async () => 1 });
  await engine(root, { targets: [d, g] }).build(['dir', 'glob']);
  writeFileSync(join(root, 'src/sub/c.yml'), 'c');
  const e = engine(root, { targets: [d, g] });
  assert.is(await e.explain('dir'), `dir: input src/sub/c.yml added (sha256 ${createHash('sha256').update('c').digest('hex').slice(0, 12)}…)`);
  assert.match(await e.explain('glob'), /^glob: input src\/sub\/c.yml added/);
  writeFileSync(join(root, 'src/notes.txt'), 'x');
  const s = await e.build(['dir', 'glob']);
  assert.equal(statuses(s), { dir: 'built', glob: 'built' });
  writeFileSync(join(root, 'src/notes.txt'), 'y');
  assert.match(await engine(root, { targets: [d, g] }).explain('glob'), /up to date/);
});

test('env and tools join the key', async () => {
  const root = tempRoot();
  const t = target({ name: 'e', env: ['PHAROS_TEST_X'], tools: ['sh', { name: 'ninja', args: ['--version'] }], run: async () => 1 });
  await engine(root, { targets: [t] }, { env: { ...process.env, PHAROS_TEST_X: 'a' } }).build(['e']);
  const e = engine(root, { targets: [t] }, { env: { ...process.env, PHAROS_TEST_X: 'b' } });
  assert.is(await e.explain('e'), 'e: env PHAROS_TEST_X changed ("a" -> "b")');
  const keys = JSON.parse(readFileSync(join(root, '.pharos/keys.json'), 'utf8')) as { e: string };
  const key = JSON.parse(keys.e) as { tools: Record<string, string> };
  assert.match(key.tools.ninja!, /^\d+\.\d+/);
});

test.run();
