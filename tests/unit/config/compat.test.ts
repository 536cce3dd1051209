/**
 * The ai-how compatibility pass on small configs: each rule is one located
 * warning, `--strict` turns them into errors, real typos stay errors with
 * "did you mean", and a controller-only cluster is valid.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigText } from '../../../lib/config/load.js';
import { planSystem } from '../../../lib/config/plan.js';
import { PharosError, type ErrorDetail } from '../../../lib/errors.js';
import { HOST } from './helpers.js';

const BASE = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'configs', 'valid-base.yaml'), 'utf8');
const opts = { env: {}, host: HOST };

function load(text: string, strict = false) {
  return loadConfigText(text, 'c.yaml', { ...opts, strict });
}
function problems(text: string, strict = false): ErrorDetail[] {
  try {
    load(text, strict);
  } catch (e) {
    assert.instance(e, PharosError);
    return (e as PharosError).problems;
  }
  throw new Error('loaded, but must be rejected');
}

test('the Pharos form itself has no rewrite', () => {
  assert.equal(load(BASE).compat, []);
});

test('compute ip_address → ip and image_path → base_image_path: one warning each, at the key', () => {
  const text = BASE.replace('ip: "10.9.0.11"', 'ip_address: "10.9.0.11"\n        image_path: "img/x.qcow2"');
  const l = load(text);
  assert.equal(l.compat.map((r) => [r.line, r.column, r.field, r.rule]), [
    [20, 9, 'clusters.hpc.compute_nodes[0].ip_address', 'rename'],
    [21, 9, 'clusters.hpc.compute_nodes[0].image_path', 'rename'],
  ]);
  assert.match(l.compat[0]!.message, '`ip_address` → `ip`');
  assert.equal(l.config.clusters.hpc?.compute_nodes, [
    { cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip: '10.9.0.11', base_image_path: 'img/x.qcow2' },
    { cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip: '10.9.0.12' },
  ]);
});

test('--strict rejects the same forms as errors, with the migrate hint', () => {
  const text = BASE.replace('ip: "10.9.0.11"', 'ip_address: "10.9.0.11"');
  const d = problems(text, true);
  assert.equal(d.length, 1);
  assert.equal([d[0]!.line, d[0]!.field], [20, 'clusters.hpc.compute_nodes[0].ip_address']);
  assert.match(d[0]!.message, '(--strict)');
  assert.match(d[0]!.hint ?? '', 'pharos migrate');
  assert.equal(load(BASE, true).compat, [], 'strict accepts the Pharos form');
});

test('real typos stay errors with "did you mean", even beside ai-how keys', () => {
  const text = BASE.replace('memory_gb: 1\n        disk_gb: 4\n        ip: "10.9.0.11"', 'memroy_gb: 1\n        cpu_core: 2\n        hostname: "x"\n        disk_gb: 4\n        ip: "10.9.0.11"');
  const d = problems(text);
  assert.ok(d.some((p) => p.field === 'clusters.hpc.compute_nodes[0].memroy_gb' && p.hint === 'did you mean `memory_gb`?'), JSON.stringify(d));
  assert.ok(d.some((p) => p.field === 'clusters.hpc.compute_nodes[0].cpu_core' && p.hint === 'did you mean `cpu_cores`?'), JSON.stringify(d));
  assert.not.ok(d.some((p) => p.field?.endsWith('hostname')), 'hostname is an ai-how key: ignored, not an error');
});

test('ignored keys: one warning per section naming them all, with their lines', () => {
  const nodes = 'hostname: "n"\n        node_type: "compute"\n        ip:';
  const text = `${BASE.replaceAll('ip:', nodes).replace('hostname: "n"\n        node_type: "compute"\n        ip_address', 'ip_address')}test:\n  a: 1\nlogging:\n  level: INFO\n`;
  const l = load(text);
  const ign = l.compat.filter((r) => r.rule === 'ignored');
  assert.equal(ign.map((r) => r.field), ['clusters.hpc.compute_nodes[]', '(top level)']);
  assert.match(ign[0]!.message, /`hostname` \(lines 20, 26\).*`node_type` \(lines 21, 27\)/);
  assert.match(ign[1]!.message, /`test` \(line \d+\), `logging` \(line \d+\): a section of ai-how's test harness/);
});

test('gres.gpu.count → emulated_gpus without passthrough; ignored with a GPU passed through', () => {
  const text = BASE.replace('ip: "10.9.0.11"', 'ip: "10.9.0.11"\n        gres:\n          gpu:\n            count: 2\n            type: gpu').replace(
    'ip: "10.9.0.12"',
    'ip: "10.9.0.12"\n        gres: {gpu: {count: 1}}\n        pcie_passthrough:\n          enabled: true\n          devices:\n            - pci_address: "0000:01:00.0"\n              device_type: gpu',
  );
  const l = load(text);
  assert.equal(l.compat.map((r) => [r.line, r.rule]), [
    [21, 'emulated-gpus'],
    [29, 'ignored'],
  ]);
  assert.match(l.compat[0]!.message, '`gres.gpu.count: 2` → `emulated_gpus: 2`');
  assert.match(l.compat[1]!.message, 'GPU passed through');
  const p = planSystem(l, { env: {} });
  assert.equal(p.clusters[0]!.nodes.map((n) => n.emulatedGpus), [0, 2, 0]);
});

test('virtio-fs readonly → options ro', () => {
  const text = BASE.replace('ip_address: "10.9.0.10"', 'ip_address: "10.9.0.10"\n      virtio_fs_mounts:\n        - tag: data\n          host_path: /srv\n          mount_point: /data\n          readonly: true\n          options: "rw,relatime"');
  const l = load(text);
  assert.equal(l.compat.map((r) => [r.line, r.rule]), [[20, 'readonly']]);
  assert.equal(l.config.clusters.hpc?.controller.virtio_fs_mounts?.[0]?.options, 'ro,relatime');
});

test('missing version, metadata and slurm_config get defaults, each said', () => {
  const text = BASE.replace('version: "1.0"\nmetadata:\n  name: "broken"\n  description: "broken corpus"\n', '').replace(/ {4}slurm_config:\n.*\n.*\n?$/, '');
  const l = load(text);
  assert.equal(l.compat.map((r) => r.field), ['version', 'metadata', 'clusters.hpc.slurm_config']);
  assert.match(l.compat[2]!.message, 'one partition `debug`');
  assert.equal(l.config.clusters.hpc?.slurm_config, { partitions: ['debug'], default_partition: 'debug' });
  assert.equal(l.config.metadata.name, 'b');
});

const CLOUD = `  cloud:
    name: "k"
    network: {subnet: "10.8.0.0/24", bridge: "br-k"}
    control_plane: {cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip_address: "10.8.0.10"}
`;

test('grouped cloud workers are flattened; a missing kubernetes_config gets defaults', () => {
  const text = `${BASE}${CLOUD}    worker_nodes:\n      cpu:\n        - {worker_type: cpu, cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip: "10.8.0.11"}\n      gpu: []\n`;
  const l = load(text);
  assert.equal(l.compat.map((r) => [r.field, r.rule]), [
    ['clusters.cloud.kubernetes_config', 'default'],
    ['clusters.cloud.worker_nodes', 'flatten'],
  ]);
  assert.match(l.compat[1]!.message, 'one list of 1 worker (`worker_type` dropped)');
  assert.equal(planSystem(l, { env: {} }).clusters[1]!.nodes.map((n) => n.name), ['k-control-plane', 'k-cpu-worker-01']);
});

test('a cloud cluster with zero workers is treated as absent, with one warning', () => {
  const l = load(`${BASE}${CLOUD}    worker_nodes: {cpu: [], gpu: []}\n`);
  assert.equal(l.compat.map((r) => [r.line, r.field, r.rule]), [[28, 'clusters.cloud', 'remove-cluster']]);
  assert.equal(l.config.clusters.cloud, undefined);
});

test('controller-only HPC cluster: valid, plans one VM', () => {
  const text = BASE.replace(/ {4}compute_nodes:\n(.*\n){8}/, '    compute_nodes: []\n');
  const l = load(text);
  assert.equal(l.compat, []);
  assert.equal(planSystem(l, { env: {} }).clusters[0]!.nodes.map((n) => n.name), ['b-controller']);
  // BeeGFS without compute nodes keeps its storage target on the controller.
  const bg = load(text.replace('    slurm_config:', '    storage:\n      beegfs: {enabled: true, mount_point: /mnt/beegfs}\n    slurm_config:'));
  assert.equal(planSystem(bg, { env: {} }).clusters[0]!.storage.beegfs?.storageNodes, ['controller']);
});

test.run();
