/**
 * Every sample config of the old tool (ai-how) against `samples.json`: the
 * accepted ones load with exactly the compatibility rewrites listed there (and
 * no other warning), the rejected one reports what is listed. The rewrites in
 * samples.json are regenerated with PHAROS_UPDATE_GOLDEN=1 (review the diff;
 * `why` is kept), as are the golden plans in tests/fixtures/golden/plans/.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../lib/config/load.js';
import { planSystem } from '../../../lib/config/plan.js';
import { planText } from '../../../lib/config/render-plan.js';
import { assertExpected, HOST, rejectDetails, type Expect } from './helpers.js';
import { samplesDir } from '../../fixtures/shared.js';

const SAMPLES = process.env['PHAROS_SAMPLES'] ?? samplesDir();
const FIX = join(import.meta.dirname, '..', '..', 'fixtures', 'configs');
const GOLDEN = join(import.meta.dirname, '..', '..', 'fixtures', 'golden', 'plans');
const UPDATE = process.env['PHAROS_UPDATE_GOLDEN'] === '1';
const MANIFEST = join(FIX, 'samples.json');

interface Rewrite {
  line: number;
  column: number;
  field: string;
  rule: string;
  message: string;
}
interface Sample {
  valid: boolean;
  why: string;
  vms?: string[];
  rewrites?: Rewrite[];
  expect?: Expect[];
}
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { $comment: string; samples: Record<string, Sample> };
const env = { HOME: '/home/tester', PATH: '/usr/bin' };
const opts = { env, root: '/repo', host: HOST };

test('the manifest covers every sample and nothing else', () => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length > 0, `no samples in ${SAMPLES}`);
  assert.equal(Object.keys(manifest.samples).sort(), files);
});

for (const [file, m] of Object.entries(manifest.samples)) {
  test(`sample ${file}: ${m.valid ? 'valid' : 'rejected'}`, async () => {
    const path = join(SAMPLES, file);
    if (!m.valid) {
      assertExpected(file, await rejectDetails(path, opts), m.expect ?? []);
      assert.ok((m.expect ?? []).length > 0, `${file}: say what must be reported`);
      return;
    }
    const l = await loadConfig(path, opts);
    const p = planSystem(l, { env: {} });
    const got: Rewrite[] = l.compat.map((r) => ({ line: r.line ?? 0, column: r.column ?? 0, field: r.field ?? '', rule: r.rule, message: r.message }));
    const vms = p.clusters.flatMap((c) => c.nodes.map((n) => `${n.name} ${n.ip}`));
    if (UPDATE) {
      m.rewrites = got;
      m.vms = vms;
    }
    assert.equal(got, m.rewrites ?? [], `${file}: the rewrites differ from samples.json`);
    assert.equal(vms, m.vms, `${file}: VMs`);
    assert.equal(l.warnings, [], 'no host warning on the test host');
    // Every rewrite is a located, one-line warning.
    for (const r of l.compat) {
      assert.ok(r.file === path && (r.line ?? 0) > 0 && (r.column ?? 0) > 0, JSON.stringify(r));
      assert.not.match(r.message, '\n');
    }
    // The plan as the file intends it: a golden file per accepted sample.
    p.configPath = `ai-how-configs/${file}`;
    const text = `${planText(p)}\n`;
    const g = join(GOLDEN, file.replace(/\.yaml$/, '.txt'));
    if (UPDATE) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(g, text);
    }
    assert.ok(existsSync(g), `golden file ${g} is missing (create it with PHAROS_UPDATE_GOLDEN=1)`);
    assert.fixture(text, readFileSync(g, 'utf8'), `${file}: plan differs from its golden file`);
  });
}

test('example: ${TOT} and ${HOME} are expanded', async () => {
  const l = await loadConfig(join(SAMPLES, 'example-multi-gpu-clusters.yaml'), opts);
  const mounts = l.config.clusters.hpc?.controller.virtio_fs_mounts ?? [];
  assert.equal(mounts.map((m) => m.host_path), ['/repo', '/home/tester']);
});

test('example: ${HOME} unset is an error naming it and its line', async () => {
  const d = await rejectDetails(join(SAMPLES, 'example-multi-gpu-clusters.yaml'), { env: {}, root: '/repo', host: HOST });
  assert.ok(d.every((x) => x.message.includes('HOME')), JSON.stringify(d));
  assert.equal(d.map((x) => x.line), [64, 65]);
});

test('example: one GPU given to two VMs that both start automatically stays rejected, naming the device', async () => {
  const { loadConfigText } = await import('../../../lib/config/load.js');
  const text = readFileSync(join(SAMPLES, 'example-multi-gpu-clusters.yaml'), 'utf8').replace('- auto_start: false\n', '- auto_start: true\n');
  try {
    loadConfigText(text, 'shared-gpu.yaml', opts);
    assert.unreachable('must be rejected');
  } catch (e) {
    const problems = (e as { problems?: { line?: number; message: string }[] }).problems ?? [];
    assert.ok(problems.some((p) => p.line === 177 && p.message.includes('0000:01:00.0') && p.message.includes('both start automatically')), JSON.stringify(problems));
  }
});

test.after(() => {
  if (UPDATE) writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
});

test.run();
