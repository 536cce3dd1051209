/** The config and host commands through the real `pharos` bin. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../lib/config/load.js';

const BIN = join(REPO_ROOT, 'bin', 'pharos.js');
const FIX = join(REPO_ROOT, 'tests', 'fixtures', 'configs');

function pharos(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('validate: the embedded default by default', () => {
  const r = pharos(['validate']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^ok: .*config\/local\.yaml: hpc cluster pharos; 3 VMs/);
});

test('validate: a broken config exits 2 with file:line:column and the hint, no stack', () => {
  const r = pharos(['validate', join(FIX, 'broken', 'typo-field.yaml')]);
  assert.is(r.code, 2);
  assert.match(r.err, 'typo-field.yaml:13:7: clusters.hpc.controller.memroy_gb: unknown field `memroy_gb`');
  assert.match(r.err, 'did you mean `memory_gb`?');
  assert.not.match(r.err, '    at ');
});

test('validate --json and -c', () => {
  const r = pharos(['-c', join(FIX, 'broken', 'bad-ip.yaml'), 'validate', '--json']);
  const j = JSON.parse(r.out) as { ok: boolean; errors: { line: number }[] };
  assert.is(j.ok, false);
  assert.is(j.errors[0]!.line, 20);
  assert.is(r.code, 2);
});

test('render: expanded YAML', () => {
  const r = pharos(['render', 'config/local.yaml'], { PHAROS_DEBIAN_MIRROR: 'http://127.0.0.1:9/debian' });
  assert.is(r.code, 0, r.err);
  assert.match(r.out, 'mirror: "http://127.0.0.1:9/debian"');
});

test('plan: text, json, markdown', () => {
  const t = pharos(['plan']);
  assert.is(t.code, 0, t.err);
  assert.match(t.out, 'pharos-compute-02');
  const j = JSON.parse(pharos(['plan', '--format', 'json']).out) as { clusters: { nodes: { name: string }[] }[] };
  assert.equal(j.clusters[0]!.nodes.map((n) => n.name), ['pharos-controller', 'pharos-compute-01', 'pharos-compute-02']);
  assert.match(pharos(['plan', '--format', 'markdown']).out, '## Cluster `pharos`');
  const bad = pharos(['plan', '--format', 'xml']);
  assert.is(bad.code, 2);
  assert.match(bad.err, 'unknown plan format');
});

test('inventory pcie --json: a row per host PCI device', () => {
  const r = pharos(['inventory', 'pcie', '--json']);
  assert.is(r.code, 0, r.err);
  const rows = JSON.parse(r.out) as { address: string; vfioBound: boolean }[];
  assert.ok(rows.length > 0);
  assert.ok(rows.every((x) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(x.address)));
});

test('doctor --json: tools, libvirt, KVM probe verdict and acceleration', () => {
  const r = pharos(['doctor', '--json']);
  const rep = JSON.parse(r.out) as { ok: boolean; acceleration: string; checks: { id: string; status: string }[]; kvm?: { ran: boolean } };
  const ids = rep.checks.map((c) => c.id);
  for (const id of ['arch', 'tool:virsh', 'tool:qemu-img', 'tool:qemu-system-x86_64', 'tool:packer', 'tool:ansible-playbook', 'tool:mmdebstrap', 'kvm', 'memory']) {
    assert.ok(ids.includes(id), `missing check ${id}: ${ids.join(', ')}`);
  }
  assert.ok(ids.some((i) => i.startsWith('libvirt:')));
  assert.is(rep.kvm?.ran, true);
  assert.ok(['kvm', 'tcg'].includes(rep.acceleration));
  assert.is(r.code, rep.ok ? 0 : 1);
});

test.run();
