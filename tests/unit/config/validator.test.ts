/**
 * The schema validator written ahead as Ajv standalone code (what a compiled
 * bin uses) gives the same answers and the same error objects as the one
 * compiled at run time, on valid configs and on broken ones.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import type { ValidateFunction } from 'ajv';
import { SCHEMA_FILE } from '../../../lib/config/load.js';
import { getValidator, standaloneValidator } from '../../../lib/config/validator.js';
import { REPO } from '../engine/helpers.js';

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
    const ahead = (createRequire(import.meta.url)(file) as { default: ValidateFunction }).default;
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
