import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../lib/config/load.js';
import { planSystem } from '../../../lib/config/plan.js';
import { assertExpected, HOST, rejectDetails, type Expect } from './helpers.js';
import { samplesDir } from '../../fixtures/shared.js';

const SAMPLES = process.env['PHAROS_SAMPLES'] ?? samplesDir();
const FIX = join(import.meta.dirname, '..', '..', 'fixtures', 'configs');
const manifest = JSON.parse(readFileSync(join(FIX, 'samples.json'), 'utf8')) as {
  samples: Record<string, { valid: boolean; why: string; expect?: Expect[] }>;
};
const env = { HOME: '/home/tester', PATH: '/usr/bin' };

test('the manifest covers every sample and nothing else', () => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length > 0, `no samples in ${SAMPLES}`);
  assert.equal(Object.keys(manifest.samples).sort(), files);
});

for (const [file, m] of Object.entries(manifest.samples)) {
  test(`sample ${file}: ${m.valid ? 'valid' : 'rejected'}`, async () => {
    const path = join(SAMPLES, file);
    if (m.valid) {
      const l = await loadConfig(path, { env, root: '/repo', host: HOST });
      const p = planSystem(l, { env: {} });
      assert.ok(p.clusters.length > 0);
      assert.equal(l.warnings, []);
    } else {
      assertExpected(file, await rejectDetails(path, { env, root: '/repo', host: HOST }), m.expect ?? []);
      assert.ok((m.expect ?? []).length > 0, `${file}: say what must be reported`);
    }
  });
}

test('example: ${TOT} and ${HOME} are expanded', async () => {
  const l = await loadConfig(join(SAMPLES, 'example-multi-gpu-clusters.yaml'), { env, root: '/repo', host: HOST });
  const mounts = l.config.clusters.hpc?.controller.virtio_fs_mounts ?? [];
  assert.equal(mounts.map((m) => m.host_path), ['/repo', '/home/tester']);
});

test('example: ${HOME} unset is an error naming it and its line', async () => {
  const d = await rejectDetails(join(SAMPLES, 'example-multi-gpu-clusters.yaml'), { env: {}, root: '/repo', host: HOST });
  assert.ok(d.every((x) => x.message.includes('HOME')), JSON.stringify(d));
  assert.equal(d.map((x) => x.line), [64, 65]);
});

test.run();
