/**
 * Target globs through the real bin: bracket sets (`vm:c0[12]`), ranges,
 * negation, and a reversed range as a usage error (exit 2, no stack trace).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GRAPH_URL, cli, tempRoot } from '../engine/helpers.js';

const root = tempRoot('pharos-globs-');
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => ({
  targets: ['vm:pharos-compute-01', 'vm:pharos-compute-02', 'vm:pharos-compute-03', 'vm:pharos-controller', 'x[1]'].map((name) => target({ name, run: async () => 1 })),
});
`,
);

/** Under --json an error is one JSON object on stderr; as text (message, problems, hint) for the assertions below. */
function errorText(stderr: string): string {
  if (!stderr.trim()) return stderr;
  const e = JSON.parse(stderr) as { error: string; problems: { message: string }[]; hint: string | null };
  return [`error: ${e.error}`, ...e.problems.map((p) => `  ${p.message}`), ...(e.hint ? [`hint: ${e.hint}`] : [])].join('\n');
}

async function list(selector: string): Promise<{ code: number | null; names: string[]; err: string }> {
  const c = cli(root, ['list', '--json', selector]);
  const r = await c.exit;
  const names = r.code === 0 ? (JSON.parse(c.stdout()) as { name: string }[]).map((s) => s.name) : [];
  return { code: r.code, names, err: r.code === 0 ? c.stderr() : errorText(c.stderr()) };
}

test('a bracket set selects exactly its members', async () => {
  const r = await list('vm:pharos-compute-0[12]');
  assert.is(r.code, 0, r.err);
  assert.equal(r.names, ['vm:pharos-compute-01', 'vm:pharos-compute-02']);
});

test('ranges and negated sets', async () => {
  let r = await list('vm:pharos-compute-0[2-3]');
  assert.is(r.code, 0, r.err);
  assert.equal(r.names, ['vm:pharos-compute-02', 'vm:pharos-compute-03']);
  r = await list('vm:pharos-compute-0[!2]');
  assert.is(r.code, 0, r.err);
  assert.equal(r.names, ['vm:pharos-compute-01', 'vm:pharos-compute-03']);
  r = await list('vm:pharos-c[a-o]*');
  assert.is(r.code, 0, r.err);
  assert.equal(r.names, ['vm:pharos-compute-01', 'vm:pharos-compute-02', 'vm:pharos-compute-03', 'vm:pharos-controller']);
});

test('an exact name with brackets still selects itself; an unclosed [ is literal', async () => {
  let r = await list('x[1]');
  assert.is(r.code, 0, r.err);
  assert.equal(r.names, ['x[1]']);
  r = await list('vm:pharos-compute-0[1');
  assert.is.not(r.code, 0);
  assert.match(r.err, /no target matches "vm:pharos-compute-0\[1"/);
});

test('a reversed range is a usage error that says how to write it', async () => {
  const r = await list('vm:pharos-compute-0[3-1]');
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /bad target glob "vm:pharos-compute-0\[3-1\]": the range 3-1 is reversed/);
  assert.match(r.err, /write \[1-3\]/);
  assert.not.match(r.err, /\n\s+at /, 'no stack trace');
});

test.run();
