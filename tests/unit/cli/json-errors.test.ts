/**
 * Under `--json`, every error is one JSON object on stderr, through the real
 * bin: {error, problems:[{file,line,column,field,message,expected,hint}],
 * hint, exitCode}, and the exit code is the error's. The main verbs' `--help`
 * end with examples.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ErrorJson } from '../../../lib/errors.js';
import { GRAPH_URL, cli, tempRoot } from '../engine/helpers.js';

const root = tempRoot('pharos-json-errors-');
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => ({ targets: [target({ name: 'a', run: async () => 1 })] });
`,
);
const bad = join(root, 'bad.yaml');
writeFileSync(bad, 'clusters:\n  hpc:\n    controller:\n      memory_gb: lots\n');

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, args);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

/** stderr is exactly one JSON line; its exitCode is the process's. */
async function jsonError(args: string[]): Promise<ErrorJson> {
  const r = await run(args);
  const lines = r.err.split('\n').filter(Boolean);
  assert.is(lines.length, 1, `pharos ${args.join(' ')}: one line on stderr, got:\n${r.err}`);
  const doc = JSON.parse(lines[0]!) as ErrorJson;
  assert.is(doc.exitCode, r.code, 'exitCode is the exit status');
  assert.equal(Object.keys(doc).sort(), ['error', 'exitCode', 'hint', 'problems']);
  return doc;
}

test('a config error: every problem with file, line, column and field', async () => {
  const doc = await jsonError(['--json', 'render', bad]);
  assert.is(doc.exitCode, 2);
  assert.match(doc.error, /bad\.yaml: \d+ problems in the cluster config/);
  const mem = doc.problems.find((p) => p.field === 'clusters.hpc.controller.memory_gb');
  assert.ok(mem, JSON.stringify(doc.problems));
  assert.equal(mem, { file: bad, line: 4, column: 18, field: 'clusters.hpc.controller.memory_gb', message: 'wrong type: got the string lots', expected: 'an integer', hint: null });
  for (const p of doc.problems) assert.equal(Object.keys(p).sort(), ['column', 'expected', 'field', 'file', 'hint', 'line', 'message']);
});

test('an unknown target, after the command word too: exit 1 with the hint', async () => {
  const doc = await jsonError(['build', 'nosuch', '--json']);
  assert.is(doc.exitCode, 1);
  assert.match(doc.error, 'unknown target "nosuch"');
  assert.equal(doc.problems, []);
  assert.ok(doc.hint && doc.hint.includes('pharos list'), String(doc.hint));
});

test('usage errors: exit 2, no commander text around the JSON', async () => {
  for (const args of [['--json', 'build', '--bogus'], ['--json', 'why'], ['--json', 'nosuchcommand'], ['--json', 'vm']]) {
    const doc = await jsonError(args);
    assert.is(doc.exitCode, 2);
    assert.not.match(doc.error, /^error: |outputHelp/);
  }
});

test('without --json the error stays text', async () => {
  const r = await run(['build', 'nosuch']);
  assert.is(r.code, 1);
  assert.match(r.err, /^error: unknown target "nosuch"\nhint: /);
});

test('the main verbs end their help with examples', async () => {
  for (const verb of ['build', 'test', 'watch', 'validate', 'cluster']) {
    const r = await run([verb, '--help']);
    assert.is(r.code, 0, r.err);
    const ex = r.out.slice(r.out.indexOf('\nExamples:\n'));
    assert.ok(ex.length > 1 && r.out.includes('\nExamples:\n'), `pharos ${verb} --help has Examples:`);
    assert.match(ex, new RegExp(`\\n  \\$ pharos ${verb}\\b`), `an example of pharos ${verb}`);
  }
});

test.run();
