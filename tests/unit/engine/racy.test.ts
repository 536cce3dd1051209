import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, target, type BuildSummary, type GraphDefinition } from '../../../lib/index.js';
import { age, tempRoot, waitFor } from './helpers.js';

const status = (s: BuildSummary, n: string): string => s.targets[n]!.status;

/** An ext4 with 128-byte inodes: whole-second timestamps, as the filesystems the rule is for. */
function coarseFs(): { dir: string; done: () => void } | undefined {
  const img = join(mkdtempSync(join(tmpdir(), 'pharos-coarse-')), 'fs.img');
  const dir = `${img}.mnt`;
  try {
    writeFileSync(img, '');
    execFileSync('truncate', ['-s', '8M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-I', '128', img], { stdio: 'ignore' });
    mkdirSync(dir);
    execFileSync('mount', ['-o', 'loop', img, dir], { stdio: 'ignore' });
  } catch {
    rmSync(img, { force: true });
    return undefined;
  }
  return {
    dir,
    done: () => {
      execFileSync('umount', [dir]);
      rmSync(img, { force: true });
    },
  };
}

test('racy stamp: a same-size edit in the second the stamp was taken is seen (1-second timestamps)', async () => {
  const fs = coarseFs();
  if (!fs) {
    console.log('  SKIPPED: needs root, mkfs.ext4 and a loop device to make a filesystem with 1-second timestamps');
    return;
  }
  try {
    let proved = false;
    for (let attempt = 0; attempt < 5 && !proved; attempt++) {
      const root = mkdtempSync(join(fs.dir, 'p-'));
      const file = join(root, 'a.txt');
      let seen = '';
      const t = target({ name: 'a', inputs: ['a.txt'], run: async () => (seen = readFileSync(file, 'utf8')) });
      const def: GraphDefinition = { targets: [t] };
      const build = (): Promise<BuildSummary> => createEngine({ root, definition: def, jobs: 1 }).build(['a']);
      // Start early in a second so that both writes and the build fall in it.
      await waitFor('the start of a second', () => Date.now() % 1000 < 200);
      const sec = Math.floor(Date.now() / 1000);
      writeFileSync(file, 'AAAA');
      utimesSync(file, sec, sec);
      assert.is(status(await build(), 'a'), 'built');
      writeFileSync(file, 'BBBB');
      utimesSync(file, sec, sec);
      // Only a proof if the stamp is the same as recorded: ctime still in the same second.
      if (Number(statSync(file, { bigint: true }).ctimeNs / 1_000_000_000n) !== sec) continue;
      const s = await build();
      assert.is(status(s, 'a'), 'built', 'the edit under an unchanged stamp is found');
      assert.match(s.targets.a!.reason!, /input a\.txt changed/);
      assert.is(seen, 'BBBB');
      assert.is(status(await build(), 'a'), 'cached');
      proved = true;
    }
    assert.ok(proved, 'five tries crossed a second boundary');
  } finally {
    fs.done();
  }
});

test('a directory declared as an output is refused with a clear error', async () => {
  const root = tempRoot();
  const outDir = join(root, 'outdir');
  const t = target({
    name: 'd',
    outputFiles: (o: { dir: string }) => [o.dir],
    run: async () => (mkdirSync(outDir, { recursive: true }), { dir: outDir }),
  });
  const s = await createEngine({ root, definition: { targets: [t] }, jobs: 1 }).build(['d']);
  assert.is(status(s, 'd'), 'failed');
  assert.is(s.targets.d!.error, `d declared output ${outDir}, which is a directory; outputs must be files`);
});

test('an input saved just before the build is read again at the next check, then trusted', async () => {
  const root = tempRoot();
  writeFileSync(join(root, 'in.txt'), 'x');
  age(join(root, 'in.txt'));
  const t = target({ name: 'a', inputs: ['in.txt'], run: async () => 1 });
  const build = (): Promise<BuildSummary> => createEngine({ root, definition: { targets: [t] }, jobs: 1 }).build(['a']);
  assert.is(status(await build(), 'a'), 'built');
  // mtime in the future is racy whatever the clock does meanwhile: hashed at each check.
  const ahead = new Date(Date.now() + 3600_000);
  utimesSync(join(root, 'in.txt'), ahead, ahead);
  for (let i = 0; i < 2; i++) {
    const s = await build();
    assert.is(status(s, 'a'), 'cached');
    assert.is(s.hashed.files, 1, 'a racy stamp is not trusted');
  }
  age(join(root, 'in.txt'));
  assert.is((await build()).hashed.files, 1, 'a new, old-enough stamp: hashed once');
  assert.is((await build()).hashed.files, 0, 'then trusted');
});

test.run();
