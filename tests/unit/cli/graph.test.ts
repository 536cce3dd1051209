/**
 * `pharos graph`, through the real bin: transitively reduced by default
 * (`--full`: every edge), aliases as nodes pointing at their members, each
 * target labelled and coloured by its state, in dot, mermaid and JSON.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GraphView } from '../../../lib/graph/render.js';
import { GRAPH_URL, cli, tempRoot } from '../engine/helpers.js';

const root = tempRoot('pharos-graph-');
writeFileSync(join(root, 'a.txt'), 'a\n');
writeFileSync(join(root, 'd.txt'), 'd\n');
// A diamond a <- b, c <- d, and d -> a besides (implied by d -> b -> a);
// e runs after d (order only); alias "all" names d and b (b is implied by d).
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { alias, target } from ${JSON.stringify(GRAPH_URL)};
export default () => {
  const a = target({ name: 'a', inputs: ['a.txt'], run: async () => 1 });
  const b = target({ name: 'b', deps: { a }, run: async () => 2 });
  const c = target({ name: 'c', deps: { a }, run: async () => 3 });
  const d = target({ name: 'd', deps: { a, b, c }, inputs: ['d.txt'], run: async () => 4 });
  const e = target({ name: 'e', after: [d], run: async () => 5 });
  return { targets: [a, b, c, d, e], aliases: [alias('all', [d, 'b'])] };
};
`,
);

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, args);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

async function graph(args: string[]): Promise<string> {
  const r = await run(['graph', ...args]);
  assert.is(r.code, 0, r.err);
  return r.out;
}

test('set up: a and b fresh, d dirty, c and e never built', async () => {
  let r = await run(['build', 'd']);
  assert.is(r.code, 0, r.err);
  writeFileSync(join(root, 'd.txt'), 'd changed\n');
  r = await run(['clean', 'c']);
  assert.is(r.code, 0, r.err);
});

test('dot: reduced, states as labels and fills, the alias and its members', async () => {
  const dot = await graph([]);
  for (const e of ['"b" -> "a";', '"c" -> "a";', '"d" -> "b";', '"d" -> "c";', '"e" -> "d" [style=dashed];', '"all" -> "d" [style=dotted']) assert.ok(dot.includes(e), `${e} in\n${dot}`);
  assert.not.ok(dot.includes('"d" -> "a"'), 'd -> a is implied by d -> b -> a');
  assert.not.ok(dot.includes('"all" -> "b"'), 'all -> b is implied by all -> d -> b');
  assert.ok(dot.includes('"a" [label="a\\nfresh", fillcolor="#b7e1b0"];'), dot);
  assert.ok(dot.includes('"d" [label="d\\ndirty", fillcolor="#ffd966"];'), dot);
  assert.ok(dot.includes('"c" [label="c\\nnever built", fillcolor="#e0e0e0"];'), dot);
  assert.ok(dot.includes('"all" [label="all\\nalias", shape=ellipse, style=dashed];'), dot);
  const full = await graph(['--full']);
  assert.ok(full.includes('"d" -> "a";') && full.includes('"all" -> "b" [style=dotted'), `--full keeps every edge:\n${full}`);
});

test('mermaid: the same edges, states as classes', async () => {
  const m = await graph(['--format', 'mermaid']);
  const id = (name: string): string => {
    const hit = new RegExp(`\\n  (t\\d+|a\\d+)\\[\\(?"${name}[<"]`).exec(m)?.[1];
    assert.ok(hit, `${name} in\n${m}`);
    return hit;
  };
  assert.ok(m.includes(`${id('d')}["d<br/>dirty"]`), m);
  assert.ok(m.includes(`${id('d')} --> ${id('b')}`), m);
  assert.not.ok(m.includes(`${id('d')} --> ${id('a')}`), `d -> a is reduced away:\n${m}`);
  assert.ok(m.includes(`${id('e')} -.-> ${id('d')}`), m);
  assert.match(m, /\n {2}a0\(\["all<br\/>alias"\]\)/);
  assert.match(m, new RegExp(`\\n  classDef dirty fill:#ffd966\\n  class ${id('d')} dirty`));
  assert.match(m, new RegExp(`\\n  class ${id('a')},${id('b')} fresh`));
});

test('json: states, aliases, reduced edges; selecting a target limits it to its closure', async () => {
  const v = JSON.parse(await graph(['--json'])) as GraphView;
  assert.is(v.reduced, true);
  assert.equal(Object.fromEntries(v.targets.map((t) => [t.name, t.state])), { a: 'fresh', b: 'fresh', c: 'never-built', d: 'dirty', e: 'never-built' });
  assert.equal(v.edges.map((e) => `${e.from}>${e.to}`).sort(), ['b>a', 'c>a', 'd>b', 'd>c', 'e>d']);
  assert.equal(v.aliasEdges, [{ from: 'all', to: 'd' }]);
  const b = JSON.parse(await graph(['--json', 'b'])) as GraphView;
  assert.equal(b.targets.map((t) => t.name), ['a', 'b']);
  assert.equal(b.aliases, [], 'an alias is shown only when all it names is');
});

test.run();
