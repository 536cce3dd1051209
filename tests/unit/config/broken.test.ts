import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatError, PharosError } from '../../../lib/errors.js';
import { loadConfig } from '../../../lib/config/load.js';
import { assertExpected, HOST, rejectDetails, type Expect } from './helpers.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'configs', 'broken');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expect[] | string>;
const env = { HOME: '/home/tester' };

test('every broken fixture has an expectation and vice versa', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
  assert.equal(Object.keys(expected).filter((k) => !k.startsWith('$')).sort(), files);
});

for (const [file, exp] of Object.entries(expected)) {
  if (file.startsWith('$') || typeof exp === 'string') continue;
  test(`broken/${file}`, async () => {
    const details = await rejectDetails(join(DIR, file), { env, host: HOST });
    assertExpected(file, details, exp);
    for (const d of details) assert.ok(d.file?.endsWith(file), `detail names the file: ${JSON.stringify(d)}`);
  });
}

test('the base of the corpus is valid (each broken file differs by its mistake only)', async () => {
  const l = await loadConfig(join(DIR, '..', 'valid-base.yaml'), { env, host: HOST });
  assert.equal(l.config.clusters.hpc?.name, 'b');
});

test('all problems at once, sorted by line, formatted without a stack', async () => {
  const text = readFileSync(join(DIR, '..', 'valid-base.yaml'), 'utf8')
    .replace('memory_gb: 1\n      disk_gb: 4\n      ip_address', 'memroy_gb: 1\n      disk_gb: 4\n      ip_address')
    .replace('ip: "10.9.0.12"', 'ip: "10.9.0.999"')
    .replace('default_partition: "debug"', 'default_partition: 7');
  const { loadConfigText } = await import('../../../lib/config/load.js');
  try {
    loadConfigText(text, 'multi.yaml', { env, host: HOST });
    assert.unreachable('must fail');
  } catch (e) {
    assert.instance(e, PharosError);
    const pe = e as PharosError;
    const lines = pe.problems.map((d) => d.line ?? 0);
    assert.equal([...lines].sort((a, b) => a - b), lines);
    assert.ok(pe.problems.some((d) => d.hint === 'did you mean `memory_gb`?'));
    assert.ok(pe.problems.some((d) => d.message.includes('10.9.0.999')));
    assert.ok(pe.problems.some((d) => d.field === 'clusters.hpc.slurm_config.default_partition'));
    const s = formatError(pe);
    assert.ok(s.includes('multi.yaml:13:7: clusters.hpc.controller.memroy_gb: unknown field'), s);
    assert.not.ok(s.includes('    at '), 'no stack trace');
  }
});

test('a missing file is one clear error', async () => {
  try {
    await loadConfig(join(DIR, 'no-such.yaml'));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, PharosError);
    assert.match((e as Error).message, /no such file/);
  }
});

test.run();
