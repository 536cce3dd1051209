/**
 * Hand-made ClusterPlans for golden tests: the `hpc` cluster of
 * reference/ai-how-configs/example-multi-gpu-clusters.yaml (KVM, host-passthrough,
 * virtiofs on the controller, GPU passthrough on both computes), a variant with
 * hugepages + pinning, and the local user-mode default under TCG.
 */
import type { ClusterPlan, NodePlan } from '../../../lib/model.js';
import { qemuMacFor as macFor } from '../../../lib/config/plan.js';

function node(cluster: string, shortName: string, role: NodePlan['role'], ip: string, extra: Partial<NodePlan> = {}): NodePlan {
  const name = `${cluster}-${shortName}`;
  return {
    name,
    shortName,
    cluster,
    role,
    vcpus: 4,
    memoryMiB: 8192,
    diskGb: 100,
    ip,
    mac: macFor(name),
    image: { kind: 'built', name: role === 'controller' ? 'hpc-controller' : 'hpc-compute' },
    autoStart: true,
    pcie: [],
    virtiofs: [],
    emulatedGpus: 0,
    ...extra,
  };
}

export function exampleHpcPlan(): ClusterPlan {
  const c = 'hpc';
  return {
    name: c,
    kind: 'hpc',
    libvirtUri: 'qemu:///system',
    acceleration: 'kvm',
    cpu: {
      model: 'host-passthrough',
      features: ['+vmx', '+svm', '+sse4.1', '+sse4.2', '+avx', '+avx2'],
      topology: { sockets: 1, cores: 4, threads: 1 },
      pinning: false,
      nested: false,
    },
    memoryBacking: { hugepages: false, hugepageSize: '2M', memfd: true },
    network: {
      mode: 'nat',
      subnet: '192.168.100.0/24',
      prefix: 24,
      gateway: '192.168.100.1',
      netmask: '255.255.255.0',
      libvirtName: 'hpc-network',
      bridge: 'virbr100',
    },
    nodes: [
      node(c, 'controller', 'controller', '192.168.100.10', {
        virtiofs: [
          { tag: 'project-repo', hostPath: '/home/dev/project', mountPoint: '/home/dev/project', owner: 'admin', group: 'admin', mode: '0755', options: 'rw,relatime' },
          { tag: 'datasets', hostPath: '/home/dev', mountPoint: '/home/dev', owner: 'admin', group: 'admin', mode: '0755', options: 'rw,relatime' },
        ],
      }),
      node(c, 'compute-01', 'compute', '192.168.100.11', {
        vcpus: 8,
        memoryMiB: 16384,
        diskGb: 200,
        pcie: [
          { address: '0000:01:00.0', deviceType: 'gpu', vendorId: '10de', deviceId: '2805' },
          { address: '0000:01:00.1', deviceType: 'audio', vendorId: '10de', deviceId: '22bd' },
        ],
      }),
      node(c, 'compute-02', 'compute', '192.168.100.12', {
        vcpus: 8,
        memoryMiB: 16384,
        diskGb: 200,
        // audio listed first on purpose: the GPU function must still come first
        pcie: [
          { address: '0000:07:00.1', deviceType: 'audio', vendorId: '10de', deviceId: '228e' },
          { address: '0000:07:00.0', deviceType: 'gpu', vendorId: '10de', deviceId: '2504' },
        ],
      }),
    ],
    storage: { shared: 'beegfs', mountPoint: '/mnt/beegfs', virtiofs: true },
    monitoring: { prometheus: false, nodeExporter: false, grafana: false, dcgm: false },
    users: [],
  };
}

export function hugepagesPlan(): ClusterPlan {
  const p = exampleHpcPlan();
  p.cpu = { ...p.cpu, pinning: true };
  p.memoryBacking = { hugepages: true, hugepageSize: '1G', memfd: true };
  return p;
}

export function localUserPlan(): ClusterPlan {
  const c = 'local';
  return {
    name: c,
    kind: 'hpc',
    libvirtUri: 'qemu:///system',
    acceleration: 'tcg',
    cpu: { model: 'host-passthrough', features: [], pinning: false, nested: false },
    memoryBacking: { hugepages: false, hugepageSize: '2M', memfd: false },
    network: {
      mode: 'user',
      subnet: '10.77.0.0/24',
      prefix: 24,
      gateway: '10.77.0.1',
      netmask: '255.255.255.0',
      libvirtName: 'local-cluster',
      bridge: 'pharos-local',
    },
    // user mode: the plan names each VM's management NIC MAC (as planSystem does).
    nodes: [
      node(c, 'controller', 'controller', '10.77.0.10', { vcpus: 2, memoryMiB: 2048, diskGb: 20, mgmtMac: macFor(`${c}-controller`, 'mgmt') }),
      node(c, 'compute-01', 'compute', '10.77.0.11', { vcpus: 2, memoryMiB: 2048, diskGb: 20, emulatedGpus: 2, mgmtMac: macFor(`${c}-compute-01`, 'mgmt') }),
    ],
    storage: { shared: 'nfs', mountPoint: '/shared', virtiofs: false },
    monitoring: { prometheus: false, nodeExporter: false, grafana: false, dcgm: false },
    users: [],
  };
}
