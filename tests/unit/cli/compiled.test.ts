/**
 * The engine compiled ahead (scripts/compile.mjs into dist/, trusted by
 * bin/compiled.js): the compiled graph of this repository gives every target
 * the same definition text as the source under tsx (or every key would change
 * between the two); dist/ goes stale on an edited, added or removed source; and
 * the real bin runs the edited source, not the stale dist/. The schema
 * validator written ahead as Ajv standalone code gives the same answers and
 * error objects as the one compiled at run time.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import { parse } from 'yaml';
import type { ValidateFunction } from 'ajv';
import { SCHEMA_FILE } from '../../../lib/config/load.js';
import { getValidator, standaloneValidator } from '../../../lib/config/validator.js';
import * as assert from 'uvu/assert';
import { compile } from '../../../scripts/compile.mjs';
import { compiledFresh } from '../../../bin/compiled.js';
import { REPO, tempRoot } from '../engine/helpers.js';

/** A script printing {target: definitionJson} of this repository's graph for the default config. */
function definitionsScript(base: string, ext: string): string {
  const u = (p: string) => JSON.stringify(pathToFileURL(join(base, p)).href);
  return `
const { buildGraph } = await import(${u(`lib/graph/graph.${ext}`)});
const { definitionJson } = await import(${u(`lib/run/definition.${ext}`)});
const factory = (await import(${u(`pharos.build.${ext}`)})).default;
const def = await factory({ root: ${JSON.stringify(REPO)}, configPath: ${JSON.stringify(join(REPO, 'config/local.yaml'))}, env: {} });
const g = buildGraph(def);
process.stdout.write(JSON.stringify(Object.fromEntries(g.nodes.map((n) => [n.name, definitionJson(n)]))));
`;
}

test('the compiled graph has the definitions of the source graph, byte for byte', async () => {
  const out = join(REPO, 'dist', `.test-${process.pid}`);
  try {
    await compile(REPO, out);
    const opts = { cwd: REPO, encoding: 'utf8' as const, maxBuffer: 64 << 20 };
    const compiled = execFileSync(process.execPath, ['--input-type=module', '-e', definitionsScript(out, 'js')], opts);
    const source = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', definitionsScript(REPO, 'ts')], opts);
    const c = JSON.parse(compiled) as Record<string, string>;
    assert.ok(Object.keys(c).length > 10, 'the graph has its targets');
    assert.equal(c, JSON.parse(source));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

/** A tiny checkout: the real bin, node_modules, and a main.ts that says which code ran. */
function checkout(): string {
  const d = tempRoot('pharos-compiled-');
  cpSync(join(REPO, 'bin'), join(d, 'bin'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(d, 'node_modules'));
  writeFileSync(join(d, 'tsconfig.json'), '{"compilerOptions":{"strict":true}}\n');
  writeFileSync(join(d, 'pharos.build.ts'), 'export default () => ({ targets: [] });\n');
  mkdirSync(join(d, 'lib/cli'), { recursive: true });
  mkdirSync(join(d, 'tasks'));
  main(d, 'v1');
  return d;
}

function main(d: string, v: string, mtime?: Date): void {
  const p = join(d, 'lib/cli/main.ts');
  writeFileSync(
    p,
    `export async function main(): Promise<number> {
  const rt = (globalThis as Record<symbol, { compiled: boolean } | undefined>)[Symbol.for('pharos.runtime')];
  process.stdout.write(${JSON.stringify(v)} + (rt?.compiled ? ' compiled' : ' source'));
  return 0;
}
`,
  );
  if (mtime) utimesSync(p, mtime, mtime);
}

const bin = (d: string, env: NodeJS.ProcessEnv = {}) => execFileSync(process.execPath, [join(d, 'bin/pharos.js')], { encoding: 'utf8', env: { ...process.env, ...env } });

test('no dist/: the source runs; compiled: dist/ runs; PHAROS_SOURCE=1 forces the source', async () => {
  const d = checkout();
  assert.is(compiledFresh(d), false);
  assert.is(bin(d), 'v1 source');
  await compile(d);
  assert.is(compiledFresh(d), true);
  assert.is(bin(d), 'v1 compiled');
  assert.is(bin(d, { PHAROS_SOURCE: '1' }), 'v1 source');
});

test('an edited source makes dist/ stale and the edit runs, even with the same size', async () => {
  const d = checkout();
  await compile(d);
  main(d, 'v2'); // same length as v1: only the mtime tells
  assert.is(compiledFresh(d), false);
  assert.is(bin(d), 'v2 source');
  await compile(d);
  assert.is(bin(d), 'v2 compiled');
});

test('an added or removed source, or an edited pharos.build.ts or tsconfig.json, makes dist/ stale', async () => {
  const d = checkout();
  await compile(d);
  writeFileSync(join(d, 'tasks/extra.ts'), 'export const x = 1;\n');
  assert.is(compiledFresh(d), false, 'added');
  await compile(d);
  assert.is(compiledFresh(d), true);
  rmSync(join(d, 'tasks/extra.ts'));
  assert.is(compiledFresh(d), false, 'removed');
  await compile(d);
  writeFileSync(join(d, 'pharos.build.ts'), 'export default () => ({ targets: [], aliases: [] });\n');
  assert.is(compiledFresh(d), false, 'build file');
  await compile(d);
  writeFileSync(join(d, 'tsconfig.json'), '{"compilerOptions":{"strict":false}}\n');
  assert.is(compiledFresh(d), false, 'tsconfig');
});

const yamlOf = (f: string) => parse(readFileSync(join(REPO, f), 'utf8')) as Record<string, unknown>;

function cases(): [string, unknown][] {
  const local = yamlOf('config/local.yaml');
  const clusters = local.clusters as Record<string, unknown>;
  return [
    ['config/local.yaml', local],
    ['config/example-multi-gpu-clusters.yaml', yamlOf('config/example-multi-gpu-clusters.yaml')],
    ['empty mapping', {}],
    ['wrong version type', { ...local, version: ['1'] }],
    ['unknown top-level key', { ...local, nonsense: true }],
    ['clusters of the wrong shape', { ...local, clusters: { ...clusters, extra: 'x' } }],
    ['not an object', 'text'],
  ];
}

test('standalone and run-time validators agree, errors included', async () => {
  const dir = join(REPO, 'dist', `.test-validator-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const file = join(dir, 'v.cjs');
    writeFileSync(file, await standaloneValidator(SCHEMA_FILE));
    const ahead = (createRequire(join(REPO, 'package.json'))(file) as { default: ValidateFunction }).default;
    const now = getValidator(SCHEMA_FILE);
    let invalid = 0;
    for (const [what, data] of cases()) {
      const a = ahead(data);
      const b = now(data);
      assert.is(a, b, what);
      assert.equal(JSON.parse(JSON.stringify(ahead.errors ?? null)), JSON.parse(JSON.stringify(now.errors ?? null)), what);
      if (!a) invalid++;
    }
    assert.ok(invalid >= 4, 'the broken cases are refused');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
