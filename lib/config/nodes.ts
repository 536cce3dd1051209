/**
 * One list of VMs per cluster, derived once from the config: names, roles,
 * addresses (templates expanded), and where each came from in the file. Both the
 * cross-field rules and the plan read this, so they can never disagree.
 *
 * Address assignment for `ip: DHCP` nodes: the old tool let libvirt's DHCP pick.
 * Pharos pins every VM, so a DHCP node gets the first free address from
 * subnet+11 upwards (the controller conventionally sits at +10, the gateway at
 * +1), skipping every address written explicitly anywhere in the cluster.
 */
import type { ClusterConfig, ComputeNode, ComputeNodeTemplate, ControllerNode, HpcCluster, CloudCluster, GpuPartition, PciDevice, VirtioFsMount } from './types.js';
import { ipToInt, nthAddress, parseSubnet, isHostAddress } from './ip.js';
import type { NodeRole } from '../model.js';

export const FIRST_DYNAMIC_OFFSET = 11;

export interface ConfigNode {
  cluster: string;
  clusterKey: 'hpc' | 'cloud';
  /** `<cluster>-<shortName>` */
  name: string;
  shortName: string;
  role: NodeRole;
  cpuCores: number;
  memoryGb: number;
  diskGb: number;
  /** Resolved address; undefined only when the subnet ran out. */
  ip: string | undefined;
  /** Whether the address was written in the file (vs assigned for DHCP). */
  staticIp: boolean;
  autoStart: boolean;
  baseImagePath: string | undefined;
  pcie: PciDevice[];
  virtiofs: VirtioFsMount[];
  emulatedGpus: number;
  /** `gpu_partitions` (listed nodes only; a template has none). */
  partitions: GpuPartition[];
  /** Path segments of the node in the config, for error locations. */
  path: (string | number)[];
  /** Path of the field holding the address. */
  ipPath: (string | number)[];
}

export interface ConfigCluster {
  key: 'hpc' | 'cloud';
  name: string;
  cfg: HpcCluster | CloudCluster;
  nodes: ConfigNode[];
}

function pcieOf(n: ComputeNode | ComputeNodeTemplate): PciDevice[] {
  const p = n.pcie_passthrough;
  if (!p || p.enabled === false) return [];
  return p.devices ?? [];
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

export function clusterNodes(key: 'hpc' | 'cloud', c: HpcCluster | CloudCluster): ConfigNode[] {
  const isHpc = key === 'hpc';
  const ctrl: ControllerNode = isHpc ? (c as HpcCluster).controller : (c as CloudCluster).control_plane;
  const ctrlKey = isHpc ? 'controller' : 'control_plane';
  const groupKey = isHpc ? 'compute_nodes' : 'worker_nodes';
  const group = isHpc ? (c as HpcCluster).compute_nodes : (c as CloudCluster).worker_nodes;
  const nodes: ConfigNode[] = [];
  const ctrlShort = isHpc ? 'controller' : 'control-plane';
  nodes.push({
    cluster: c.name,
    clusterKey: key,
    name: `${c.name}-${ctrlShort}`,
    shortName: ctrlShort,
    role: isHpc ? 'controller' : 'control-plane',
    cpuCores: ctrl.cpu_cores,
    memoryGb: ctrl.memory_gb,
    diskGb: ctrl.disk_gb,
    ip: ctrl.ip_address,
    staticIp: true,
    autoStart: true,
    baseImagePath: ctrl.base_image_path ?? c.base_image_path,
    pcie: [],
    virtiofs: ctrl.virtio_fs_mounts ?? [],
    emulatedGpus: 0,
    partitions: [],
    path: ['clusters', key, ctrlKey],
    ipPath: ['clusters', key, ctrlKey, 'ip_address'],
  });

  // Flatten list or template into (spec, path) entries.
  const entries: { spec: ComputeNode | ComputeNodeTemplate; path: (string | number)[]; ip: string }[] = [];
  if (Array.isArray(group)) {
    group.forEach((n, i) => entries.push({ spec: n, path: ['clusters', key, groupKey, i], ip: n.ip }));
  } else {
    for (let i = 0; i < group.count; i++) entries.push({ spec: group, path: ['clusters', key, groupKey], ip: 'DHCP' });
  }

  const used = new Set<number>();
  for (const n of [ctrl.ip_address, ...entries.map((e) => e.ip)]) {
    try {
      if (n !== 'DHCP') used.add(ipToInt(n));
    } catch {
      /* reported by the schema */
    }
  }
  let subnet: ReturnType<typeof parseSubnet> | undefined;
  try {
    subnet = parseSubnet(c.network.subnet);
  } catch {
    subnet = undefined;
  }
  let next = FIRST_DYNAMIC_OFFSET;
  const assign = (): string | undefined => {
    if (!subnet) return undefined;
    while (next < subnet.size - 1) {
      const ip = nthAddress(subnet, next++);
      if (!used.has(ipToInt(ip)) && isHostAddress(ip, subnet)) {
        used.add(ipToInt(ip));
        return ip;
      }
    }
    return undefined;
  };

  let cpuCount = 0;
  let gpuCount = 0;
  entries.forEach((e, i) => {
    const pcie = pcieOf(e.spec);
    let short: string;
    let role: NodeRole;
    if (isHpc) {
      short = `compute-${two(i + 1)}`;
      role = 'compute';
    } else if (pcie.some((d) => d.device_type === 'gpu')) {
      short = `gpu-worker-${two(++gpuCount)}`;
      role = 'gpu-worker';
    } else {
      short = `cpu-worker-${two(++cpuCount)}`;
      role = 'cpu-worker';
    }
    const staticIp = e.ip !== 'DHCP';
    nodes.push({
      cluster: c.name,
      clusterKey: key,
      name: `${c.name}-${short}`,
      shortName: short,
      role,
      cpuCores: e.spec.cpu_cores,
      memoryGb: e.spec.memory_gb,
      diskGb: e.spec.disk_gb,
      ip: staticIp ? e.ip : assign(),
      staticIp,
      autoStart: e.spec.auto_start ?? true,
      baseImagePath: e.spec.base_image_path ?? c.base_image_path,
      pcie,
      virtiofs: e.spec.virtio_fs_mounts ?? [],
      emulatedGpus: e.spec.emulated_gpus ?? 0,
      partitions: 'gpu_partitions' in e.spec ? (e.spec.gpu_partitions ?? []) : [],
      path: e.path,
      ipPath: [...e.path, 'ip'],
    });
  });
  return nodes;
}

export function configClusters(cfg: ClusterConfig): ConfigCluster[] {
  const out: ConfigCluster[] = [];
  if (cfg.clusters.hpc) out.push({ key: 'hpc', name: cfg.clusters.hpc.name, cfg: cfg.clusters.hpc, nodes: clusterNodes('hpc', cfg.clusters.hpc) });
  if (cfg.clusters.cloud)
    out.push({ key: 'cloud', name: cfg.clusters.cloud.name, cfg: cfg.clusters.cloud, nodes: clusterNodes('cloud', cfg.clusters.cloud) });
  return out;
}
