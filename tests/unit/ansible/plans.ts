/**
 * Cluster plans written out by hand for the Ansible tests, so the golden files
 * depend on the inventory and roles only, not on the config loader.
 * `localPlan` is the embedded default (3 nodes, 1 GiB each, 1 vCPU on the
 * controller and 2 on each compute, 2 emulated GPUs
 * per compute); `examplePlan` is the HPC cluster of
 * ai-how-configs/example-multi-gpu-clusters.yaml (two real NVIDIA GPUs).
 */
import type { ClusterPlan, NodePlan, PciDevicePlan } from '../../../lib/model.js';
import type { InventoryAccess } from '../../../lib/inventory/index.js';

function node(cluster: string, shortName: string, role: NodePlan['role'], ip: string, over: Partial<NodePlan> = {}): NodePlan {
  return {
    name: `${cluster}-${shortName}`,
    shortName,
    cluster,
    role,
    vcpus: 1,
    memoryMiB: 1024,
    diskGb: 10,
    ip,
    mac: '52:54:00:00:00:01',
    image: { kind: 'built', name: role === 'controller' ? 'hpc-controller' : 'hpc-compute' },
    autoStart: true,
    pcie: [],
    virtiofs: [],
    emulatedGpus: 0,
    ...over,
  };
}

const gpu = (address: string, deviceId: string): PciDevicePlan => ({ address, deviceType: 'gpu', vendorId: '10de', deviceId });
const audio = (address: string, deviceId: string): PciDevicePlan => ({ address, deviceType: 'audio', vendorId: '10de', deviceId });

const baseCluster = {
  kind: 'hpc' as const,
  libvirtUri: 'qemu:///system',
  acceleration: 'auto' as const,
  cpu: { model: 'max', features: [], pinning: false, nested: false },
  memoryBacking: { hugepages: false, hugepageSize: '2M' as const, memfd: false },
};

export function localPlan(): ClusterPlan {
  return {
    ...baseCluster,
    name: 'pharos',
    network: {
      mode: 'user',
      subnet: '10.77.0.0/24',
      prefix: 24,
      gateway: '10.77.0.1',
      netmask: '255.255.255.0',
      libvirtName: 'pharos-cluster',
      bridge: 'pharos-br0',
    },
    nodes: [
      node('pharos', 'controller', 'controller', '10.77.0.10', {
        vcpus: 2,
        memoryMiB: 2048,
        virtiofs: [{ tag: 'pharos-data', hostPath: '/srv/pharos-data', mountPoint: '/mnt/host-data', mode: '0755', options: 'rw,relatime', create: true }],
      }),
      node('pharos', 'compute-01', 'compute', '10.77.0.11', { vcpus: 2, memoryMiB: 2048, emulatedGpus: 2 }),
      node('pharos', 'compute-02', 'compute', '10.77.0.12', { vcpus: 2, memoryMiB: 2048, emulatedGpus: 2 }),
    ],
    slurm: { partitions: ['debug'], defaultPartition: 'debug', maxJobTime: '1:00:00', accounting: { enabled: true, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 }, prolog: [], epilog: [] },
    storage: { shared: 'nfs', mountPoint: '/shared', virtiofs: false },
    monitoring: { prometheus: true, nodeExporter: true, grafana: false, dcgm: false },
    users: [{ name: 'researcher', uid: 2001, gid: 2001, groups: [], sshKeys: [], shell: '/bin/bash' }],
    registry: { port: 5000 },
  };
}

/** The local default without its compute nodes (`compute_nodes: []`). */
export function controllerOnlyPlan(): ClusterPlan {
  const p = localPlan();
  return { ...p, nodes: p.nodes.filter((n) => n.role === 'controller') };
}

export function examplePlan(): ClusterPlan {
  const c = 'hpc-cluster';
  return {
    ...baseCluster,
    name: c,
    cpu: { model: 'host-passthrough', features: ['+vmx'], pinning: false, nested: false },
    network: {
      mode: 'nat',
      subnet: '192.168.100.0/24',
      prefix: 24,
      gateway: '192.168.100.1',
      netmask: '255.255.255.0',
      libvirtName: 'hpc-cluster-network',
      bridge: 'virbr100',
    },
    nodes: [
      node(c, 'controller', 'controller', '192.168.100.10', { vcpus: 4, memoryMiB: 8192, diskGb: 100 }),
      node(c, 'compute-01', 'compute', '192.168.100.11', {
        vcpus: 8, memoryMiB: 16384, diskGb: 200, pcie: [gpu('0000:01:00.0', '2805'), audio('0000:01:00.1', '22bd')],
      }),
      node(c, 'compute-02', 'compute', '192.168.100.12', {
        vcpus: 8, memoryMiB: 16384, diskGb: 200, pcie: [gpu('0000:07:00.0', '2504'), audio('0000:07:00.1', '228e')],
      }),
    ],
    slurm: { partitions: ['gpu', 'debug'], defaultPartition: 'gpu', maxJobTime: '24:00:00', accounting: { enabled: false, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 }, prolog: [], epilog: [] },
    storage: {
      shared: 'beegfs',
      mountPoint: '/mnt/beegfs',
      beegfs: {
        mountPoint: '/mnt/beegfs',
        managementNode: 'controller',
        metadataNodes: ['controller'],
        storageNodes: ['compute-01', 'compute-02'],
        mountOptions: 'defaults,_netdev',
        autoMount: true,
      },
      virtiofs: true,
    },
    monitoring: { prometheus: true, nodeExporter: true, grafana: false, dcgm: true },
    users: [],
  };
}

/** The cloud cluster of the example config (control plane, CPU worker, GPU worker). */
export function exampleCloudPlan(): ClusterPlan {
  const c = 'cloud-cluster';
  return {
    ...baseCluster,
    kind: 'cloud',
    name: c,
    network: {
      mode: 'nat', subnet: '192.168.200.0/24', prefix: 24, gateway: '192.168.200.1',
      netmask: '255.255.255.0', libvirtName: 'cloud-cluster-network', bridge: 'virbr200',
    },
    nodes: [
      node(c, 'control-plane', 'control-plane', '192.168.200.10', { vcpus: 4, memoryMiB: 8192 }),
      node(c, 'cpu-worker-01', 'cpu-worker', '192.168.200.11', { vcpus: 4, memoryMiB: 8192 }),
      node(c, 'gpu-worker-01', 'gpu-worker', '192.168.200.12', { vcpus: 8, memoryMiB: 16384, pcie: [gpu('0000:01:00.0', '2789')] }),
    ],
    storage: { shared: 'none', mountPoint: '/shared', virtiofs: false },
    monitoring: { prometheus: false, nodeExporter: false, grafana: false, dcgm: false },
    users: [],
    kubernetes: { cni: 'calico', ingress: 'nginx', storageClass: 'local-path', packageRepo: 'https://pkgs.k8s.io/core:/stable:/v1.30/deb/', version: '1.30', podSubnet: '10.244.0.0/16', preloadImages: [] },
  };
}

/** Access as the VM layer reports it in `user` mode: every node on 127.0.0.1. */
export function localAccess(): InventoryAccess {
  return {
    nodes: new Map([
      ['pharos-controller', { host: '127.0.0.1', port: 2210 }],
      ['pharos-compute-01', { host: '127.0.0.1', port: 2211 }],
      ['pharos-compute-02', { host: '127.0.0.1', port: 2212 }],
    ]),
    user: 'root',
    keyFile: '/var/lib/pharos/clusters/pharos/id_ed25519',
    publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeClusterKeyForTheGoldenInventory0000 pharos-pharos',
    knownHostsFile: '/var/lib/pharos/clusters/pharos/known_hosts',
  };
}

/** `nat` mode: no live ports needed, nodes are reached on their addresses. */
export function natAccess(cluster: string): InventoryAccess {
  return {
    nodes: new Map(),
    user: 'root',
    keyFile: `/var/lib/pharos/clusters/${cluster}/id_ed25519`,
    knownHostsFile: `/var/lib/pharos/clusters/${cluster}/known_hosts`,
  };
}
