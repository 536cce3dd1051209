/**
 * Signals and faults, with real `pharos` processes against temp projects:
 * SIGHUP/SIGTERM stop like Ctrl-C, a kill -9 leaves nothing running for long,
 * full disk / read-only / damaged `.pharos` give one message naming the file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveStartTime } from '../../../lib/tools/proc.js';
import { GRAPH_URL, cli, processAlive, readIf, recordedNames, tempRoot, waitFor } from './helpers.js';

/** a -> b; b runs `sleep 1000` (via ctx.exec) while the file `hang` exists; spam writes 2 MB of output. */
function project(): string {
  const root = tempRoot('pharos-faults-');
  writeFileSync(
    join(root, 'pharos.build.ts'),
    `import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => {
  const a = target({ name: 'a', run: async () => 1 });
  const b = target({ name: 'b', deps: { a }, run: async (ctx) => {
    if (existsSync(join(ctx.root, 'hang'))) await ctx.exec('sh', ['-c', 'echo $$ > child.pid; exec sleep 1000']);
    return 2;
  } });
  const c = target({ name: 'c', deps: { a }, run: async () => 3 });
  const spam = target({ name: 'spam', run: async (ctx) => {
    await ctx.exec('sh', ['-c', 'yes 0123456789012345678901234567890123456789 | head -c 2000000']);
    return 4;
  } });
  return { targets: [a, b, c, spam] };
};
`,
  );
  return root;
}

const childPid = (root: string): Promise<number> => waitFor('the target to start `sleep 1000` (child.pid)', () => Number(readIf(join(root, 'child.pid')).trim()) || undefined);

const noBug = (stderr: string): void => {
  assert.not.match(stderr, /this is a bug/, stderr);
  assert.not.match(stderr, /\n\s+at /, `no stack trace:\n${stderr}`);
};

for (const [sig, code] of [['SIGHUP', 129], ['SIGTERM', 143]] as const) {
  test(`${sig} stops like Ctrl-C: children ended, lock released, nothing half-done recorded, exit ${code}`, async () => {
    const root = project();
    writeFileSync(join(root, 'hang'), '');
    const run = cli(root, ['build', 'b']);
    const sleeper = await childPid(root);
    try {
      run.child.kill(sig);
      const r = await run.exit;
      assert.is(r.code, code, `exit ${r.code} / ${r.signal}\n${run.stderr()}`);
      await waitFor(`sleep (pid ${sleeper}) to be gone`, () => !processAlive(sleeper), 10000);
    } finally {
      if (processAlive(sleeper)) process.kill(sleeper, 'SIGKILL');
    }
    assert.not.ok(existsSync(join(root, '.pharos/lock')), 'lock released');
    assert.not.ok(existsSync(join(root, '.pharos/pids')), 'no process groups left on record');
    assert.equal(recordedNames(join(root, '.pharos')), new Set(['a']));
  });
}

test('after kill -9 of pharos, the next run ends the process groups it left (and only those)', async () => {
  const root = project();
  writeFileSync(join(root, 'hang'), '');
  // A bystander recorded under a pgid that is not ours any more: a live process with another start time, no mark.
  const bystander = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  const run1 = cli(root, ['build', 'b']);
  let sleeper = 0;
  try {
    sleeper = await childPid(root);
    const pids = JSON.parse(await waitFor('.pharos/pids to record the sleep', () => readIf(join(root, '.pharos/pids')) || undefined)) as { groups: { pgid: number; start: string; cmd: string }[] };
    assert.ok(pids.groups.some((g) => g.pgid === sleeper), JSON.stringify(pids));
    run1.child.kill('SIGKILL');
    await run1.exit;
    assert.ok(processAlive(sleeper), 'the kill -9 left the sleep running');
    const bpid = bystander.pid!;
    const bstart = await waitFor('the bystander in /proc', () => liveStartTime(bpid));
    pids.groups.push({ pgid: bpid, start: String(Number(bstart) + 7), cmd: 'not ours' });
    writeFileSync(join(root, '.pharos/pids'), JSON.stringify(pids));
    const run2 = cli(root, ['build', 'c']);
    const r = await run2.exit;
    assert.is(r.code, 0, run2.stderr());
    assert.match(run2.stderr(), /note: ended 1 process left running by an earlier pharos run \(pid \d+, gone\) with SIGTERM: sh -c/);
    assert.not.ok(processAlive(sleeper), 'the leftover sleep was ended');
    assert.ok(processAlive(bpid), 'a process that is not ours is left alone');
    assert.not.ok(existsSync(join(root, '.pharos/pids')));
  } finally {
    bystander.kill('SIGKILL');
    run1.child.kill('SIGKILL');
    if (sleeper && processAlive(sleeper)) process.kill(sleeper, 'SIGKILL');
  }
});

/** A small tmpfs over `<root>/.pharos`, or undefined when mounting is not allowed. */
function smallFs(root: string, size: string): (() => void) | undefined {
  const dir = join(root, '.pharos');
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return () => execFileSync('umount', [dir]);
}

test('a full disk during a log write: one message naming the log file, no stack', async () => {
  const root = project();
  const umount = smallFs(root, '256k');
  if (!umount) {
    console.log('  SKIPPED: needs root to mount a small tmpfs');
    return;
  }
  try {
    const run = cli(root, ['build', 'spam']);
    const r = await run.exit;
    assert.is(r.code, 1, run.stderr());
    assert.match(run.stderr(), /FAILED: spam: cannot write the log \S*\.pharos\/logs\/spam\.log: no space left on device \(ENOSPC\)/);
    noBug(run.stderr());
    assert.not.ok(existsSync(join(root, '.pharos/lock')), 'lock released');
  } finally {
    umount();
  }
});

test('a read-only .pharos: one message naming the file, exit 74', async () => {
  const root = project();
  const umount = smallFs(root, '64k');
  if (!umount) {
    console.log('  SKIPPED: needs root to mount a read-only tmpfs');
    return;
  }
  try {
    execFileSync('mount', ['-o', 'remount,ro', join(root, '.pharos')]);
    const run = cli(root, ['build', 'c']);
    const r = await run.exit;
    assert.is(r.code, 74, run.stderr());
    assert.match(run.stderr(), /error: cannot create \S*\.pharos\/lock: read-only file system \(EROFS\)/);
    noBug(run.stderr());
  } finally {
    umount();
  }
});

const damage: [string, (dir: string) => void, RegExp][] = [
  ['null records', (d) => writeFileSync(join(d, 'state.json'), '{"version":4,"records":null,"tools":{},"durations":{}}'), /state\.json: records is null/],
  ['a null record', (d) => writeFileSync(join(d, 'state.json'), '{"version":4,"records":{"a":null},"tools":{},"durations":{}}'), /state\.json: a record is null \(target a\)/],
  ['a null journal line', (d) => writeFileSync(join(d, 'journal.ndjson'), 'null\n'), /journal\.ndjson: line 1 is not a journal entry \(null\)/],
  ['a directory for state.json', (d) => mkdirSync(join(d, 'state.json', 'x'), { recursive: true }), /cannot read \S*state\.json: it is a directory \(EISDIR\)/],
  ['a directory for the journal', (d) => mkdirSync(join(d, 'journal.ndjson')), /cannot read \S*journal\.ndjson: it is a directory \(EISDIR\)/],
  ['a file for logs', (d) => writeFileSync(join(d, 'logs'), 'x'), /cannot create \S*\.pharos\/logs: /],
  ['an empty lock', (d) => writeFileSync(join(d, 'lock'), ''), /\.pharos\/lock exists but it is empty; it is not treated as stale/],
];

test('a damaged .pharos: one message naming the file (never exit 70); `pharos clean` recovers and says so', async () => {
  for (const [what, make, msg] of damage) {
    const root = project();
    const dir = join(root, '.pharos');
    mkdirSync(dir);
    make(dir);
    const run = cli(root, ['build', 'c']);
    const r = await run.exit;
    assert.ok(r.code !== 0 && r.code !== 70, `${what}: exit ${r.code}\n${run.stderr()}`);
    assert.match(run.stderr(), msg, what);
    noBug(run.stderr());
    const clean = cli(root, ['clean']);
    assert.is((await clean.exit).code, 0, `${what}: clean\n${clean.stderr()}`);
    assert.match(clean.stderr(), /note: (.*discarded|removed)/, `${what}: clean says what it discarded`);
    noBug(clean.stderr());
    const again = cli(root, ['build', 'c']);
    assert.is((await again.exit).code, 0, `${what}: build after clean\n${again.stderr()}`);
  }
});

test.run();
