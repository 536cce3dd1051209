/**
 * `pharos why TARGET --json`, through the real bin: one JSON object with the
 * target's state, the reason, and the dirty dependencies named in "also".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GRAPH_URL, cli, tempRoot } from '../engine/helpers.js';

interface Why {
  target: string;
  state: string;
  reason: string;
  also: string[];
  builtAt?: string;
}

const root = tempRoot('pharos-why-json-');
writeFileSync(join(root, 'a.txt'), 'one\n');
writeFileSync(join(root, 'b.txt'), 'one\n');
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => {
  const a = target({ name: 'a', inputs: ['a.txt'], run: async () => 1 });
  const b = target({ name: 'b', deps: { a }, inputs: ['b.txt'], run: async () => 2 });
  return { targets: [a, b] };
};
`,
);

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, args);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

async function why(name: string): Promise<Why> {
  const r = await run(['why', name, '--json']);
  assert.is(r.code, 0, r.err);
  return JSON.parse(r.out) as Why;
}

test('never built, fresh, dirty with a dirty dependency', async () => {
  assert.equal(await why('b'), { target: 'b', state: 'never-built', reason: 'never built', also: ['dependency a is out of date (never built)'] });
  const b = await run(['build', 'b']);
  assert.is(b.code, 0, b.err);
  const fresh = await why('b');
  assert.is(fresh.state, 'fresh');
  assert.is(fresh.reason, 'up to date');
  assert.ok(fresh.builtAt && !Number.isNaN(Date.parse(fresh.builtAt)), 'builtAt is a date');
  writeFileSync(join(root, 'a.txt'), 'two\n');
  writeFileSync(join(root, 'b.txt'), 'two\n');
  const dirty = await why('b');
  assert.is(dirty.state, 'dirty');
  assert.match(dirty.reason, 'b.txt');
  assert.is(dirty.also.length, 1);
  assert.match(dirty.also[0]!, /^dependency a is out of date \(.*a\.txt/);
  // Without --json: the same facts as text.
  const text = await run(['why', 'b']);
  assert.match(text.out, /^b: .*b\.txt.*\n  also: dependency a is out of date/);
});

test.run();
