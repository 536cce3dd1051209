/**
 * `pharos migrate` round trip on every accepted ai-how sample: the migrated
 * text loads with no compatibility warning (also under --strict), plans
 * exactly as the original does, and keeps the file's comments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../lib/config/load.js';
import { migrateFile, migrateText } from '../../../lib/config/migrate.js';
import { planSystem } from '../../../lib/config/plan.js';
import { PharosError } from '../../../lib/errors.js';
import { HOST } from './helpers.js';
import { samplesDir } from '../../fixtures/shared.js';

const SAMPLES = process.env['PHAROS_SAMPLES'] ?? samplesDir();
const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'configs', 'samples.json'), 'utf8')) as {
  samples: Record<string, { valid: boolean }>;
};
const opts = { env: { HOME: '/home/tester' }, root: '/repo', host: HOST };
const dir = mkdtempSync(join(tmpdir(), 'pharos-migrate-'));

/** Comment texts (the YAML library may move a trailing comment onto its own line). */
const comments = (text: string): string[] => text.split('\n').flatMap((l) => /(?:^|\s)#\s?(.*)$/.exec(l)?.[1]?.trim() ?? []);

for (const [file, m] of Object.entries(manifest.samples)) {
  if (!m.valid) continue;
  test(`migrate ${file}: no warning after, same plan`, async () => {
    const src = join(SAMPLES, file);
    const before = await loadConfig(src, opts);
    const mig = await migrateFile(src, opts);
    assert.equal(mig.rewrites.map((r) => r.message), before.compat.map((r) => r.message), 'migrate lists the rewrites validate warns about');
    const out = join(dir, file);
    writeFileSync(out, mig.text);
    const after = await loadConfig(out, { ...opts, strict: true });
    assert.equal(after.compat, []);
    assert.equal(after.warnings, []);
    const plan = (l: typeof before) => ({ ...planSystem(l, { env: {} }), configPath: '' });
    assert.equal(plan(after), plan(before));
    // Comments survive except those on keys that were dropped.
    const kept = comments(mig.text);
    const orig = comments(readFileSync(src, 'utf8'));
    assert.ok(kept.every((c) => orig.includes(c)), 'no comment invented');
    if (mig.rewrites.length === 0) assert.is(mig.text, readFileSync(src, 'utf8'), 'a Pharos-form file is left byte for byte');
    else assert.ok(kept.length > 0 || orig.length === 0, 'comments kept');
    // A second migrate has nothing left to do.
    assert.equal(migrateText(mig.text, out, opts).rewrites, []);
  });
}

test('migrate keeps ${VAR}s unexpanded and the node comments in place', async () => {
  const m = await migrateFile(join(SAMPLES, 'test-slurm-compute.yaml'), opts);
  assert.match(m.text, /ip: "192\.168\.158\.11"\n\s+# Use specialized compute image \(path relative to PROJECT_ROOT\)\n\s+base_image_path: "build\/packer\/hpc-compute/);
  const ex = readFileSync(join(SAMPLES, 'example-multi-gpu-clusters.yaml'), 'utf8').replace('version: "1.0"\n', '');
  const mx = migrateText(ex, 'ex.yaml', opts);
  assert.match(mx.text, 'host_path: "${TOT}"');
  assert.ok(mx.text.startsWith('version: "1.0"\nmetadata:'), mx.text.slice(0, 80));
});

test('migrate of a config that does not load reports its errors and writes nothing', async () => {
  try {
    await migrateFile(join(SAMPLES, 'test-slurm-accounting.yaml'), opts);
    assert.unreachable('must fail');
  } catch (e) {
    assert.instance(e, PharosError);
    assert.ok((e as PharosError).problems.some((p) => p.field === 'clusters.hpc.network'));
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
