/**
 * `pharos logs TARGET`, through the real bin: the log of the target's last run,
 * its path, and one clear error for an unknown target or a target with no log.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GRAPH_URL, cli, tempRoot } from '../engine/helpers.js';

const root = tempRoot('pharos-logs-');
writeFileSync(join(root, 'msg.txt'), 'first run\n');
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => ({ targets: [
  target({ name: 'image:base', inputs: ['msg.txt'], run: async (ctx) => { await ctx.exec('cat', ['msg.txt']); return 1; } }),
  target({ name: 'other', run: async () => 2 }),
] });
`,
);

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, args);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

test('prints the last run of the target, or its path', async () => {
  let r = await run(['build', 'image:base']);
  assert.is(r.code, 0, r.err);
  r = await run(['logs', 'image:base']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, 'first run');
  writeFileSync(join(root, 'msg.txt'), 'second run\n');
  assert.is((await run(['build', 'image:base'])).code, 0);
  r = await run(['logs', 'image:base']);
  assert.match(r.out, 'second run');
  assert.not.match(r.out, 'first run', 'only the last run');
  r = await run(['logs', 'image:base', '--path']);
  assert.is(r.out.trim(), join(root, '.pharos', 'logs', 'image_base.log'));
  r = await run(['logs', 'image:base', '--json']);
  const doc = JSON.parse(r.out) as { target: string; path: string; text: string };
  assert.is(doc.target, 'image:base');
  assert.match(doc.text, 'second run');
});

test('an unknown target, a glob, a target that never ran: exit 1, one clear message', async () => {
  let r = await run(['logs', 'image:bas']);
  assert.is(r.code, 1);
  assert.match(r.err, /unknown target "image:bas"\nhint: did you mean: image:base\?/);
  r = await run(['logs', 'image:*']);
  assert.is(r.code, 1);
  assert.match(r.err, /logs needs one target name, got "image:\*"/);
  r = await run(['logs', 'other']);
  assert.is(r.code, 1);
  assert.match(r.err, /other has no log/);
  assert.match(r.err, /hint: pharos build other/);
  for (const e of [r.err]) assert.not.match(e, /\n\s+at /, 'no stack trace');
  // After clean the log is gone too.
  assert.is((await run(['clean', 'image:base'])).code, 0);
  r = await run(['logs', 'image:base']);
  assert.is(r.code, 1);
  assert.match(r.err, /image:base has no log/);
});

test.run();
