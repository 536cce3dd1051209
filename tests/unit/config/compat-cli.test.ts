/** The ai-how compatibility warnings through the real `pharos` bin: validate, plan, build, migrate, --strict. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../lib/config/load.js';
import { samplesDir } from '../../fixtures/shared.js';

const BIN = join(REPO_ROOT, 'bin', 'pharos.js');
const SAMPLES = process.env['PHAROS_SAMPLES'] ?? samplesDir();
const COMPUTE = join(SAMPLES, 'test-slurm-compute.yaml');
const dir = mkdtempSync(join(tmpdir(), 'pharos-compat-cli-'));

function pharos(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, HOME: '/home/tester' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The grouped compat block: its heading and the lines under it. */
function compatBlock(err: string): string[] {
  const lines = err.split('\n');
  const i = lines.findIndex((l) => l.includes('ai-how forms rewritten'));
  if (i < 0) return [];
  const out = [lines[i]!];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith('  ')) break;
    out.push(l);
  }
  return out;
}

test('validate: the rewrites grouped on stderr, one line each with file:line:column', () => {
  const r = pharos(['validate', COMPUTE]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, '; 8 ai-how rewrite(s)');
  const block = compatBlock(r.err);
  assert.match(block[0]!, `warning: ${COMPUTE}: 8 ai-how forms rewritten`);
  assert.is(block.length, 9, r.err);
  assert.ok(block.slice(1).every((l) => l.startsWith(`  ${COMPUTE}:`) && /:\d+:\d+: /.test(l)), r.err);
  assert.ok(block.some((l) => l.includes(':59:9: clusters.hpc.compute_nodes[0].ip_address: `ip_address` → `ip`')), r.err);
});

test('validate --strict rejects the same forms (exit 2); --json lists them under compat', () => {
  const s = pharos(['validate', '--strict', COMPUTE]);
  assert.is(s.code, 2);
  assert.match(s.err, '8 problems in the cluster config');
  assert.match(s.err, 'ai-how form (--strict): `ip_address` → `ip`');
  const j = JSON.parse(pharos(['validate', '--json', COMPUTE]).out) as { ok: boolean; compat: { line: number; rule: string }[] };
  assert.is(j.ok, true);
  assert.equal(j.compat.length, 8);
  assert.ok(j.compat.some((c) => c.line === 59 && c.rule === 'rename'));
});

test('plan: warnings on stderr, stdout stays the plan (text and json)', () => {
  const t = pharos(['plan', COMPUTE]);
  assert.is(t.code, 0, t.err);
  assert.is(compatBlock(t.err).length, 9);
  assert.match(t.out, 'test-hpc-slurm-compute-compute-02');
  const j = pharos(['plan', '--format', 'json', COMPUTE]);
  assert.is(compatBlock(j.err).length, 9);
  const p = JSON.parse(j.out) as { clusters: { nodes: { ip: string }[] }[] };
  assert.equal(p.clusters[0]!.nodes.map((n) => n.ip), ['192.168.158.10', '192.168.158.11', '192.168.158.12']);
});

test('migrate -o: lists the rewrites; the output validates with --strict and no compat warning', () => {
  const out = join(dir, 'compute.yaml');
  const m = pharos(['migrate', COMPUTE, '-o', out]);
  assert.is(m.code, 0, m.err);
  assert.match(m.err, `${COMPUTE}: 8 rewrite(s):`);
  assert.match(readFileSync(out, 'utf8'), '# Compute nodes - focus of Task 022 testing');
  const v = pharos(['validate', '--strict', out]);
  assert.is(v.code, 0, v.err);
  assert.not.match(v.err, 'ai-how');
  assert.not.match(v.out, 'rewrite');
  const p1 = JSON.parse(pharos(['plan', '--json', COMPUTE]).out) as { configPath: string };
  const p2 = JSON.parse(pharos(['plan', '--json', out]).out) as { configPath: string };
  assert.equal({ ...p2, configPath: '' }, { ...p1, configPath: '' });
});

test('build: --strict rejects before the graph; --json carries the warnings as one event (dry run)', () => {
  const s = pharos(['-c', COMPUTE, 'build', '-n', '--strict', 'image:base']);
  assert.is(s.code, 2, s.err);
  assert.match(s.err, '(--strict)');
  const j = pharos(['-c', COMPUTE, '-n', '--json', 'build', 'image:base']);
  assert.is(j.code, 0, j.err);
  const first = JSON.parse(j.out.split('\n')[0]!) as { type: string; compat: unknown[] };
  assert.is(first.type, 'config-warnings');
  assert.is(first.compat.length, 8);
  const t = pharos(['-c', COMPUTE, '-n', 'build', 'image:base']);
  assert.is(t.code, 0, t.err);
  assert.is(compatBlock(t.err).length, 9, t.err);
});

test('controller-only sample end to end: the graph has no compute image or role; the inventory an empty compute group', () => {
  const cfg = join(SAMPLES, 'test-slurm-controller.yaml');
  const l = pharos(['-c', cfg, 'list', '--json']);
  assert.is(l.code, 0, l.err);
  const names = (JSON.parse(l.out) as { name: string }[]).map((t) => t.name);
  for (const t of ['image:hpc-controller', 'vm:test-hpc-slurm-controller-controller', 'deploy:slurm-controller', 'test:slurm-controller']) assert.ok(names.includes(t), t);
  for (const t of ['image:hpc-compute', 'deploy:slurm-compute', 'deploy:nfs-client']) assert.not.ok(names.includes(t), t);
  const inv = pharos(['-c', cfg, 'inventory', 'generate']);
  assert.is(inv.code, 0, inv.err);
  assert.match(inv.out, /\[hpc_compute_nodes\]\n\n/);
});

test('commands that only use a config still say it was rewritten: one line, pointing at validate', () => {
  const cfg = join(SAMPLES, 'test-gpu-gres.yaml');
  const inv = pharos(['-c', cfg, 'inventory', 'generate']);
  assert.is(inv.code, 0, inv.err);
  assert.match(inv.err, `warning: ${cfg}: 11 ai-how forms rewritten as it loaded (pharos validate lists them`);
  assert.is(inv.err.split('\n').filter((l) => l.includes('ai-how')).length, 1, inv.err);
  const native = pharos(['-c', join(SAMPLES, 'example-multi-gpu-clusters.yaml'), 'inventory', 'generate']);
  assert.is(native.code, 0, native.err);
  assert.not.match(native.err, 'ai-how');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
