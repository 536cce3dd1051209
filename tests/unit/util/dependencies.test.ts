/**
 * Every runtime dependency in package.json is imported by the code (lib/,
 * tasks/, bin/, scripts/ (the install-time compile), pharos.build.ts), and
 * package-lock.json declares the same set: a package declared and never used is weight and a false promise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO } from '../engine/helpers.js';

interface Pkg {
  dependencies?: Record<string, string>;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.(ts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Pkg;
const deps = Object.keys(pkg.dependencies ?? {});

test('every runtime dependency is imported somewhere', () => {
  const files = [...sources(join(REPO, 'lib')), ...sources(join(REPO, 'tasks')), ...sources(join(REPO, 'bin')), ...sources(join(REPO, 'scripts')), join(REPO, 'pharos.build.ts')];
  const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  const unused = deps.filter((d) => !new RegExp(`(from|import\\()\\s*['"]${d.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(text));
  assert.equal(unused, [], `declared in package.json, imported nowhere: ${unused.join(', ')}`);
});

test('package-lock.json declares the same dependencies', () => {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, Pkg> };
  assert.equal(Object.keys(lock.packages['']?.dependencies ?? {}).sort(), [...deps].sort());
});

test.run();
