/** The config and host commands through the real `pharos` bin. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clusterPaths } from '../../../lib/cluster/paths.js';
import { REPO_ROOT } from '../../../lib/config/load.js';
import { buildFakeHost, GPU, GPU_AUDIO, IOMMU_CMDLINE, VFIO_MODS } from '../../fixtures/sysfs/tree.js';

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

test('plan: the ssh column says the port a made VM has (from its state), not only the planned one', () => {
  const root = mkdtempSync(join(tmpdir(), 'pht-plan-state-'));
  try {
    const env = { PHAROS_STATE_DIR: join(root, 'state'), PHAROS_DATA_DIR: join(root, 'data') };
    const before = pharos(['plan'], env);
    assert.is(before.code, 0, before.err);
    assert.match(before.out, /pharos-controller .* 127\.0\.0\.1:22200 /);
    // 22200 was busy when the controller was made: it got 22250, recorded in state.
    const paths = clusterPaths('pharos', env.PHAROS_STATE_DIR, env.PHAROS_DATA_DIR);
    mkdirSync(paths.stateDir, { recursive: true });
    const vm = { name: 'pharos-controller', shortName: 'controller', ip: '10.77.0.10', mac: '16:59:03:81:4a:48', sshHost: '127.0.0.1', sshPort: 22250, disk: '/d', consoleLog: '/c', pci: [] };
    writeFileSync(paths.stateFile, JSON.stringify({ version: 1, cluster: 'pharos', uri: 'qemu:///system', networkMode: 'user', network: 'pharos-cluster', pool: 'pharos-pool', poolDir: '/p', vms: { [vm.name]: vm }, updatedAt: '' }));
    const after = pharos(['plan'], env);
    assert.is(after.code, 0, after.err);
    assert.match(after.out, /pharos-controller .* 127\.0\.0\.1:22250 \(planned 127\.0\.0\.1:22200\)/);
    assert.match(after.out, /pharos-compute-01 .* 127\.0\.0\.1:22201 /, 'a VM not made yet shows its planned port');
    assert.match(pharos(['plan', '--format', 'markdown'], env).out, '127.0.0.1:22250 (planned 127.0.0.1:22200)');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('inventory pcie --json: a row per host PCI device', () => {
  const r = pharos(['inventory', 'pcie', '--json']);
  assert.is(r.code, 0, r.err);
  const rows = JSON.parse(r.out) as { address: string; vfioBound: boolean }[];
  assert.ok(rows.length > 0);
  assert.ok(rows.every((x) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(x.address)));
});

test('inventory pcie --sys-root: the table from a fake tree, with conflicts against the config', () => {
  const h = buildFakeHost({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [{ ...GPU, driver: 'nvidia' }, GPU_AUDIO] });
  try {
    const r = pharos(['inventory', 'pcie', '--sys-root', h.sysRoot, 'config/example-multi-gpu-clusters.yaml'], { HOME: '/home/t' });
    assert.is(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0]!, /^address\s+id\s+class\s+driver\s+group\s+vfio\s+assigned\s+conflicts$/);
    const gpu = lines.find((l) => l.startsWith('0000:01:00.0'))!;
    assert.match(gpu, /10de:2805\s+VGA controller\s+nvidia\s+14\s+no\s+hpc-cluster-compute-01,cloud-cluster-gpu-worker-01\s+assigned to .* but bound to nvidia/);
    assert.ok(lines.some((l) => l.startsWith('0000:07:00.0') && l.includes('not present on this host')));
  } finally {
    rmSync(h.root, { recursive: true, force: true });
  }
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
