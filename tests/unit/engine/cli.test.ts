import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRAPH_URL, cli, processAlive, readIf, recordedNames, tempRoot, waitFor } from './helpers.js';

/** a -> b; b hangs in `sleep 1000` (via ctx.exec) while the file `hang` exists. */
function project(): string {
  const root = tempRoot('pharos-cli-');
  writeFileSync(
    join(root, 'pharos.build.ts'),
    `import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { target, alias } from ${JSON.stringify(GRAPH_URL)};
export default () => {
  const a = target({ name: 'a', run: async (ctx) => { appendFileSync(join(ctx.root, 'runs.log'), 'a\\n'); return 1; } });
  const b = target({ name: 'b', deps: { a }, run: async (ctx) => {
    appendFileSync(join(ctx.root, 'runs.log'), 'b\\n');
    if (existsSync(join(ctx.root, 'hang'))) await ctx.exec('sh', ['-c', 'echo $$ > child.pid; exec sleep 1000']);
    return 2;
  } });
  const c = target({ name: 'c', deps: { a }, run: async () => 3 });
  // p: \`sleep 1000\` running, then one more event once the file \`go\` exists.
  const p = target({ name: 'p', run: async (ctx) => {
    const sleeping = ctx.exec('sh', ['-c', 'echo $$ > child.pid; exec sleep 1000']);
    while (!existsSync(join(ctx.root, 'go'))) await new Promise((r) => setTimeout(r, 20));
    ctx.phase('after the reader left');
    await sleeping;
    return 4;
  } });
  return { targets: [a, b, c, p], aliases: [alias('cluster', [b])] };
};
`,
  );
  return root;
}

const childPid = (root: string) => waitFor('the target to start `sleep 1000` (child.pid)', () => Number(readIf(join(root, 'child.pid')).trim()) || undefined);

test('kill -9 mid-target: the next run redoes exactly that target', async () => {
  const root = project();
  writeFileSync(join(root, 'hang'), '');
  const run1 = cli(root, ['build', 'b']);
  const sleeper = await childPid(root);
  run1.child.kill('SIGKILL');
  await run1.exit;
  process.kill(sleeper, 'SIGKILL'); // orphaned by the kill -9, as after a real crash
  assert.equal(recordedNames(join(root, '.pharos')), new Set(['a']));
  assert.ok(existsSync(join(root, '.pharos/lock')), 'the dead run left its lock');
  rmSync(join(root, 'hang'));
  const run2 = cli(root, ['build', 'b']);
  const r = await run2.exit;
  assert.is(r.code, 0, run2.stderr());
  assert.is(readFileSync(join(root, 'runs.log'), 'utf8'), 'a\nb\nb\n');
  assert.equal(recordedNames(join(root, '.pharos')), new Set(['a', 'b']));
});

test('lock contention names the holder pid; Ctrl-C stops children, records nothing, exits 130', async () => {
  const root = project();
  writeFileSync(join(root, 'hang'), '');
  const run1 = cli(root, ['build']);
  const sleeper = await childPid(root);
  const run2 = cli(root, ['build', 'c']);
  const r2 = await run2.exit;
  assert.is(r2.code, 75);
  assert.match(run2.stderr(), new RegExp(`another pharos run \\(pid ${run1.child.pid}\\) holds .*\\.pharos/lock`));
  assert.not.match(run2.stderr(), /\n\s+at /, 'no stack trace');
  run1.child.kill('SIGINT');
  const r1 = await run1.exit;
  assert.is(r1.code, 130, run1.stderr());
  await waitFor(`sleep (pid ${sleeper}) to be gone`, () => !processAlive(sleeper), 10000);
  assert.not.ok(recordedNames(join(root, '.pharos')).has('b'), 'b must not be recorded');
  assert.ok(recordedNames(join(root, '.pharos')).has('a'));
  assert.not.ok(existsSync(join(root, '.pharos/lock')), 'lock released');
});

test('a closed output (| head) stops the build like a signal: children ended, nothing recorded, exit 141, no stack trace', async () => {
  const root = project();
  const run = cli(root, ['--json', 'build', 'p']);
  const sleeper = await childPid(root);
  run.child.stdout?.destroy(); // the reader is gone, as head after its lines
  writeFileSync(join(root, 'go'), '');
  const r = await run.exit;
  assert.is(r.code, 141, run.stderr());
  assert.not.match(run.stderr(), /EPIPE|\n\s+at /, 'no stack trace');
  await waitFor(`sleep (pid ${sleeper}) to be gone`, () => !processAlive(sleeper), 10000);
  assert.not.ok(recordedNames(join(root, '.pharos')).has('p'), 'p must not be recorded');
  assert.not.ok(existsSync(join(root, '.pharos/lock')), 'lock released');
});

test('failure prints the log tail, log path and re-run command; unknown target suggests names', async () => {
  const root = tempRoot('pharos-cli-');
  writeFileSync(
    join(root, 'pharos.build.ts'),
    `import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => ({ targets: [target({ name: 'image:base', run: async (ctx) => { await ctx.exec('sh', ['-c', 'echo making disk; echo no space left >&2; exit 3']); return 1; } })] });
`,
  );
  const r = cli(root, ['build', 'image:base']);
  assert.is((await r.exit).code, 1);
  const err = r.stderr();
  assert.match(err, /FAILED: image:base/);
  assert.match(err, /no space left/);
  assert.match(err, /log: .*\.pharos\/logs\/image_base\.log/);
  assert.match(err, /re-run: pharos build image:base/);
  const u = cli(root, ['build', 'image:bas']);
  assert.is((await u.exit).code, 1);
  assert.match(u.stderr(), /unknown target "image:bas"\nhint: did you mean: image:base\?/);
  const w = cli(root, ['why', 'image:base']);
  await w.exit;
  assert.is(w.stdout().trim(), 'image:base: never built');
});

test('list, graph, clean, dry run and --json through the CLI', async () => {
  const root = project();
  const run = async (args: string[]) => {
    const c = cli(root, args);
    const r = await c.exit;
    return { code: r.code, out: c.stdout(), err: c.stderr() };
  };
  let r = await run(['list']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^a\s+never built/m);
  assert.match(r.out, /^cluster\s+alias\s+b/m);
  r = await run(['-n', 'build']);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /would build a: never built/);
  assert.match(r.err, /would build b: never built/);
  assert.is(readIf(join(root, 'runs.log')), '', 'dry run ran nothing');
  r = await run(['build', '--json']);
  assert.is(r.code, 0, r.err);
  const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; status?: string });
  assert.is(events[0]!.type, 'build-start');
  assert.is(events.at(-1)!.type, 'build-done');
  assert.is(events.filter((e) => e.type === 'target-done' && e.status === 'built').length, 2);
  r = await run(['list', '--json']);
  const states = JSON.parse(r.out) as { name: string; state: string }[];
  assert.equal(states.map((s) => `${s.name}=${s.state}`), ['a=fresh', 'b=fresh', 'c=never-built', 'p=never-built']);
  r = await run(['graph', '--format', 'dot']);
  assert.match(r.out, /"b" -> "a";/);
  r = await run(['graph', '--format', 'mermaid', 'b']);
  assert.match(r.out, /^graph LR/);
  assert.not.match(r.out, /"c"/);
  r = await run(['clean', 'b']);
  assert.match(r.out, /forgot 1 record/);
  r = await run(['why', 'b']);
  assert.is(r.out.trim(), 'b: never built');
  r = await run(['build', '--help']);
  assert.match(r.out, /Usage: pharos build \[options\] \[targets\.\.\.\]/);
});

test.run();
