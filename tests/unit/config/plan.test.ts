import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadConfig, loadConfigText, REPO_ROOT } from '../../../lib/config/load.js';
import { imageRef, macFor, planSystem } from '../../../lib/config/plan.js';
import { planMarkdown, planText } from '../../../lib/config/render-plan.js';
import { HOST } from './helpers.js';
import { buildDomainSpec, clusterEnv } from '../../../lib/cluster/ops.js';
import { domainXml } from '../../../lib/libvirt/domain.js';

const env = { HOME: '/home/tester' };

test('config/local.yaml: the embedded default', async () => {
  const l = await loadConfig(join(REPO_ROOT, 'config', 'local.yaml'), { env, host: HOST });
  assert.equal(l.warnings, []);
  const p = planSystem(l, { env: {} });
  assert.equal(p.clusters.length, 1);
  const c = p.clusters[0]!;
  assert.equal(c.name, 'pharos');
  assert.equal(c.nodes.map((n) => n.name), ['pharos-controller', 'pharos-compute-01', 'pharos-compute-02']);
  assert.equal(c.nodes.map((n) => [n.vcpus, n.memoryMiB, n.diskGb]), [[2, 2048, 12], [2, 2048, 6], [2, 2048, 6]]);
  assert.equal(c.nodes.map((n) => n.emulatedGpus), [0, 2, 2]);
  assert.equal(c.registry, { port: 5000 }, 'the local default has a registry on the controller');
  assert.equal(c.nodes.map((n) => n.image), [
    { kind: 'built', name: 'hpc-controller' },
    { kind: 'built', name: 'hpc-compute' },
    { kind: 'built', name: 'hpc-compute' },
  ]);
  assert.equal(c.network, { mode: 'user', subnet: '10.77.0.0/24', prefix: 24, gateway: '10.77.0.1', netmask: '255.255.255.0', libvirtName: 'pharos-cluster', bridge: 'pharos-br0' });
  assert.equal(c.nodes.map((n) => n.sshPort), [22200, 22201, 22202]);
  assert.equal(c.acceleration, 'auto');
  assert.equal(c.libvirtUri, 'qemu:///system');
  assert.equal(c.storage.shared, 'nfs');
  assert.equal(c.monitoring, { prometheus: true, nodeExporter: true, grafana: false, dcgm: false });
  assert.equal(c.slurm, {
    partitions: ['debug'],
    defaultPartition: 'debug',
    maxJobTime: '1:00:00',
    accounting: { enabled: true, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 },
    prolog: [],
    epilog: [],
  });
  assert.equal(c.users, [{ name: 'researcher', uid: 2001, gid: 2001, groups: [], sshKeys: [], shell: '/bin/bash' }]);
  assert.equal(p.baseImage, { source: 'mmdebstrap', suite: 'bookworm', mirror: 'http://deb.debian.org/debian', packages: [] });
  assert.ok(c.nodes.every((n) => n.pcie.length === 0));
});

test('config/local.yaml: the plan names the MACs and port the domain gets (the values the e2e cluster has)', async () => {
  const c = planSystem(await loadConfig(join(REPO_ROOT, 'config', 'local.yaml'), { env, host: HOST }), { env: {} }).clusters[0]!;
  assert.equal(c.nodes.map((n) => [n.name, n.mac, n.mgmtMac, n.sshPort]), [
    ['pharos-controller', '16:59:03:81:4a:48', '52:54:00:f1:3c:bc', 22200],
    ['pharos-compute-01', '7a:77:93:7c:01:a9', '52:54:00:2f:84:bd', 22201],
    ['pharos-compute-02', 'b6:69:13:dc:87:19', '52:54:00:92:a4:4e', 22202],
  ]);
  const e = clusterEnv(c, { stateRoot: '/nonexistent/state', dataRoot: '/nonexistent/data' });
  for (const n of c.nodes) {
    const xml = domainXml(buildDomainSpec(c, e, { node: n, image: { image: '/i.qcow2' }, disk: '/d.qcow2', sshPort: n.sshPort, authorizedKey: 'ssh-ed25519 AAAA k' }));
    assert.match(xml, `<mac address='${n.mac}'/>`);
    assert.match(xml, `virtio-net-pci,netdev=mgmt,mac=${n.mgmtMac},`);
    assert.match(xml, `mgmt_mac=${n.mgmtMac}`);
    assert.match(xml, `hostfwd=tcp:127.0.0.1:${n.sshPort}-:22'`);
  }
});

test('config/local.yaml: the mirror follows $PHAROS_DEBIAN_MIRROR', async () => {
  const l = await loadConfig(join(REPO_ROOT, 'config', 'local.yaml'), { env: { PHAROS_DEBIAN_MIRROR: 'http://127.0.0.1:3142/debian' }, host: HOST });
  assert.equal(planSystem(l).baseImage.mirror, 'http://127.0.0.1:3142/debian');
});

test('config/example-multi-gpu-clusters.yaml: both clusters, GPUs, shared GPU not auto-started', async () => {
  const l = await loadConfig(join(REPO_ROOT, 'config', 'example-multi-gpu-clusters.yaml'), { env, host: HOST });
  const p = planSystem(l, { env: { LIBVIRT_DEFAULT_URI: 'qemu:///session' } });
  const [hpc, cloud] = p.clusters;
  assert.equal(hpc!.nodes.map((n) => n.name), ['hpc-cluster-controller', 'hpc-cluster-compute-01', 'hpc-cluster-compute-02']);
  assert.equal(cloud!.nodes.map((n) => n.name), ['cloud-cluster-control-plane', 'cloud-cluster-cpu-worker-01', 'cloud-cluster-gpu-worker-01']);
  assert.equal(cloud!.nodes[2]!.autoStart, false);
  assert.equal(hpc!.nodes[1]!.pcie.map((d) => [d.address, d.deviceType, d.vendorId, d.deviceId]), [
    ['0000:01:00.0', 'gpu', '10de', '2805'],
    ['0000:01:00.1', 'audio', '10de', '22bd'],
  ]);
  assert.equal(hpc!.libvirtUri, 'qemu:///session');
  assert.equal(hpc!.network.mode, 'nat');
  assert.equal(hpc!.network.libvirtName, 'hpc-cluster-network');
  assert.equal(hpc!.storage.shared, 'beegfs');
  assert.equal(hpc!.storage.beegfs?.storageNodes, ['compute-01', 'compute-02']);
  assert.equal(hpc!.monitoring.dcgm, true);
  assert.equal(hpc!.memoryBacking.memfd, true);
  assert.equal(hpc!.cpu.model, 'host-passthrough');
  assert.equal(hpc!.nodes[0]!.virtiofs.map((v) => v.hostPath), [REPO_ROOT, '/home/tester']);
  assert.equal(cloud!.kubernetes, {
    cni: 'calico',
    ingress: 'nginx',
    storageClass: 'local-path',
    packageRepo: 'https://pkgs.k8s.io/core:/stable:/v1.30/deb/',
    version: '1.30',
    podSubnet: '10.244.0.0/16',
    preloadImages: [],
  });
  // The GPU worker boots the GPU variant of the cloud image (the config points every node at cloud-base).
  assert.equal(
    cloud!.nodes.map((n) => `${n.shortName}=${n.image.kind === 'built' ? n.image.name : 'path'}`),
    ['control-plane=cloud-base', 'cpu-worker-01=cloud-base', 'gpu-worker-01=cloud-gpu-worker'],
  );
  assert.equal(hpc!.nodes[0]!.sshPort, undefined);
});

test('MAC: locally administered, unicast, stable, distinct', () => {
  const names = Array.from({ length: 200 }, (_, i) => `c-compute-${i}`);
  const macs = names.map(macFor);
  for (const m of macs) {
    assert.match(m, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const first = parseInt(m.slice(0, 2), 16);
    assert.is(first & 0x02, 0x02, `${m} locally administered`);
    assert.is(first & 0x01, 0, `${m} unicast`);
  }
  assert.is(new Set(macs).size, macs.length);
  assert.is(macFor('pharos-controller'), macFor('pharos-controller'));
});

test('images: built vs user paths', () => {
  assert.equal(imageRef('build/packer/hpc-compute/hpc-compute/hpc-compute.qcow2', 'compute'), { kind: 'built', name: 'hpc-compute' });
  assert.equal(imageRef('/abs/x/build/packer/cloud-base/cloud-base.qcow2', 'cpu-worker'), { kind: 'built', name: 'cloud-base' });
  assert.equal(imageRef('/var/lib/images/mine.qcow2', 'compute'), { kind: 'path', path: '/var/lib/images/mine.qcow2' });
  assert.equal(imageRef('hpc-compute.qcow2', 'compute', '/cfg'), { kind: 'path', path: '/cfg/hpc-compute.qcow2' });
  assert.equal(imageRef(undefined, 'controller'), { kind: 'built', name: 'hpc-controller' });
});

const TEMPLATE = `version: "1.0"
metadata: { name: t, description: template }
clusters:
  hpc:
    name: t
    network: { subnet: "10.5.0.0/24", bridge: br-t }
    hardware: { acceleration: { enable_kvm: false } }
    controller: { cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip_address: "10.5.0.10" }
    compute_nodes:
      count: 3
      ip: DHCP
      cpu_cores: \${CPUS:-2}
      memory_gb: 1
      disk_gb: 4
    slurm_config: { partitions: [a, b], default_partition: b }
`;

test('node template {count, ip: DHCP}: consecutive addresses from subnet+11; enable_kvm false = tcg; ${VAR:-default} typed', () => {
  const l = loadConfigText(TEMPLATE, 't.yaml', { env: {}, host: HOST });
  const c = planSystem(l).clusters[0]!;
  assert.equal(c.nodes.map((n) => [n.name, n.ip, n.vcpus]), [
    ['t-controller', '10.5.0.10', 1],
    ['t-compute-01', '10.5.0.11', 2],
    ['t-compute-02', '10.5.0.12', 2],
    ['t-compute-03', '10.5.0.13', 2],
  ]);
  assert.is(c.acceleration, 'tcg');
  assert.is(c.cpu.model, 'max');
  assert.is(c.slurm?.maxJobTime, 'UNLIMITED');
});

test('$$ is a literal dollar; ${VAR} inside quotes stays a string', () => {
  const l = loadConfigText(TEMPLATE.replace('description: template', 'description: "cost $$5 for ${WHO}"'), 't.yaml', { env: { WHO: '42' }, host: HOST });
  assert.is(l.config.metadata.description, 'cost $5 for 42');
  assert.match(l.rendered, 'cost $5 for 42');
});

test('host capacity: too much memory or CPU is a warning, not an error', () => {
  const l = loadConfigText(TEMPLATE, 't.yaml', { env: {}, host: { cpus: 1, memoryMiB: 2048 } });
  assert.ok(l.warnings.some((w) => /vCPUs; this host has 1/.test(w.message) && w.line === 12));
  assert.ok(l.warnings.some((w) => /GiB of memory; this host has 2 GiB/.test(w.message)));
});

test('plan renders as text and markdown', async () => {
  const p = planSystem(await loadConfig(join(REPO_ROOT, 'config', 'local.yaml'), { env, host: HOST }));
  const t = planText(p);
  assert.match(t, /pharos-compute-01\s+compute\s+2\s+2 GiB\s+6 GB\s+10\.77\.0\.11/);
  assert.match(t, '127.0.0.1:22201');
  assert.match(t, 'libvirt network pharos-cluster (isolated');
  const md = planMarkdown(p);
  assert.match(md, '| pharos-controller | controller |');
});

test.run();
