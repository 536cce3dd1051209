import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, target, type GraphDefinition } from '../../../lib/index.js';
import { watch, withCompanions, type WatchEvent } from '../../../lib/watch/index.js';
import { tempRoot, waitFor } from './helpers.js';

test('edit -> rebuild; edits during a run queue exactly one follow-up; failures do not end the watch', async () => {
  const root = tempRoot('pharos-watch-');
  const src = join(root, 'src.txt');
  writeFileSync(src, 'v0');
  writeFileSync(join(root, 'pharos.build.ts'), '// reload marker\n');
  let gate: (() => void) | undefined;
  let block = false;
  let runs = 0;
  let failNext = false;
  const t = target({
    name: 'w',
    inputs: ['src.txt'],
    run: async () => {
      runs++;
      if (block) await new Promise<void>((r) => (gate = r));
      if (failNext) {
        failNext = false;
        throw new Error('broken edit');
      }
      return runs;
    },
  });
  const def: GraphDefinition = { targets: [t] };
  const events: WatchEvent[] = [];
  const ac = new AbortController();
  let loads = 0;
  const done = watch({
    targets: ['w'],
    reloadPaths: () => [join(root, 'pharos.build.ts')],
    signal: ac.signal,
    load: async () => (loads++, createEngine({ root, definition: def, jobs: 2 })),
    build: (e, ts, signal) => e.build(ts, { signal }),
    onEvent: (e) => events.push(e),
  });
  const runsDone = () => events.filter((e) => e.type === 'run-done');
  const builtIn = (n: number) => {
    const r = runsDone()[n - 1];
    return r && r.type === 'run-done' ? r.summary?.targets.w?.status : undefined;
  };
  await waitFor('the initial build', () => runsDone().length === 1);
  assert.is(builtIn(1), 'built');

  block = true;
  writeFileSync(src, 'v1');
  await waitFor('run 2 to block inside the target', () => gate);
  writeFileSync(src, 'v2');
  await waitFor('a follow-up to be queued', () => events.some((e) => e.type === 'queued'));
  writeFileSync(src, 'v3');
  await waitFor('the second mid-run edit to be seen', () => events.filter((e) => e.type === 'queued').length >= 2);
  block = false;
  gate!();
  await waitFor('run 3 (the one follow-up)', () => runsDone().length === 3);
  assert.is(builtIn(2), 'built');
  assert.is(builtIn(3), 'built');
  assert.is(runs, 3);

  // A failing build is reported and the watch goes on.
  failNext = true;
  writeFileSync(src, 'v4');
  await waitFor('run 4', () => runsDone().length === 4);
  assert.is(builtIn(4), 'failed');
  writeFileSync(src, 'v5');
  await waitFor('run 5', () => runsDone().length === 5);
  assert.is(builtIn(5), 'built');
  // Exactly one follow-up: runs 2 and 3 came from three edits; nothing else ran in between.
  assert.is(events.filter((e) => e.type === 'run-start').length, 5);

  // Editing the build file reloads the graph.
  writeFileSync(join(root, 'pharos.build.ts'), '// edited\n');
  await waitFor('a reload', () => events.some((e) => e.type === 'reload' && e.ok));
  await waitFor('run 6', () => runsDone().length === 6);
  assert.is(loads, 2);
  assert.is(builtIn(6), 'cached');

  ac.abort();
  await done;
});

test('a file the graph read (a job script) reloads it; the list is asked again after each reload', async () => {
  const root = tempRoot('pharos-watch-read-');
  const a = join(root, 'prolog-a.sh');
  const b = join(root, 'prolog-b.sh');
  writeFileSync(a, '#!/bin/sh\n');
  writeFileSync(b, '#!/bin/sh\n');
  // The "config" names a first, then (after the first reload) b.
  let named = [a];
  const def: GraphDefinition = { targets: [target({ name: 'w', run: async () => 1 })] };
  const events: WatchEvent[] = [];
  const ac = new AbortController();
  let loads = 0;
  const done = watch({
    targets: ['w'],
    reloadPaths: () => named,
    signal: ac.signal,
    load: async () => (loads++, createEngine({ root, definition: def, jobs: 1 })),
    build: (e, ts, signal) => e.build(ts, { signal }),
    onEvent: (e) => events.push(e),
  });
  const reloads = () => events.filter((e) => e.type === 'reload' && e.ok).length;
  // chokidar starts watching a newly added path asynchronously: each edit is
  // repeated until the watch reacts, so a slow machine cannot miss it.
  let n = 0;
  const editUntil = (file: string, what: string, done: () => boolean) =>
    waitFor(what, async () => {
      if (done()) return true;
      writeFileSync(file, `#!/bin/sh\necho ${++n}\n`);
      await new Promise((r) => setTimeout(r, 250));
      return done();
    });
  try {
    await waitFor('the initial build', () => events.some((e) => e.type === 'run-done'));
    named = [b];
    await editUntil(a, 'a reload after the named script changed', () => reloads() >= 1);
    await editUntil(b, 'a reload after the script named by the reloaded graph changed', () => reloads() >= 2);
    assert.ok(loads >= 3, `loads: ${loads}`);
  } finally {
    ac.abort();
    await done;
  }
});

test('watch keeps a target\'s declared companions built too', () => {
  const suite = target({ name: 'test:s', run: async () => 1 });
  const role = target({ name: 'deploy:r', watchAlso: ['test:s', 'test:gone'], run: async () => 1 });
  const def = { targets: [suite, role] };
  assert.equal(withCompanions(def, ['deploy:r']), ['deploy:r', 'test:s']);
  assert.equal(withCompanions(def, ['test:s', 'deploy:r']), ['test:s', 'deploy:r']);
});

test.run();
