/** `buildInventory`: the inventory of one cluster from its plan and where SSH
 *  reaches each node (see index.ts for what goes in it). */
import { PharosError } from '../errors.js';
import { DEFAULT_K8S_REPO, DEFAULT_K8S_VERSION, DEFAULT_POD_SUBNET, type ClusterPlan, type NodePlan } from '../model.js';
import { endpointFor, type NodeAccess } from '../cluster/access.js';
import type { Inventory, InventoryAccess, InventoryGroup, InventoryVars } from './types.js';
import { gpuDevices, gresLines, migGres, slurmClusterName, slurmGres, slurmRealMemory } from './slurm.js';
import { virtiofsMounts } from './virtiofs.js';
import { jobVars } from './users.js';
import { shellQuoteArg, sshConfigValue } from '../util/shell.js';

function accessFor(cluster: ClusterPlan, node: NodePlan, access: InventoryAccess): NodeAccess {
  const a = access.nodes.get(node.name);
  if (a) return a;
  if (cluster.network.mode === 'nat') return endpointFor('nat', node);
  throw new PharosError(`no SSH address for node ${node.name}`, {
    hint: `in 'user' network mode each VM's SSH port comes from the running VM; start it first (pharos build vm:${node.name})`,
  });
}

/** Every Pharos guest runs Debian 12's python3 (ansible/ansible.cfg's interpreter_python). */
const GUEST_PYTHON = '/usr/bin/python3';

function connectionVars(cluster: ClusterPlan, node: NodePlan, access: InventoryAccess): InventoryVars {
  const a = accessFor(cluster, node, access);
  return {
    ansible_host: a.host,
    ansible_port: a.port,
    ansible_user: access.user,
    ansible_ssh_private_key_file: access.keyFile,
    // The same interpreter ansible.cfg names. Mitogen reads only this variable
    // (not interpreter_python), and without it runs interpreter discovery on
    // each host first: two extra bootstraps, ~12 s per host under TCG.
    ansible_python_interpreter: GUEST_PYTHON,
  };
}

/**
 * Ansible splits `ansible_ssh_common_args` with Python's shlex (POSIX rules)
 * and hands each word to ssh, which parses an option's value once more: the
 * known_hosts path is quoted for ssh, then the option for shlex, so a state
 * root with spaces (or quotes) stays one path. Plain paths stay bare.
 */
export function sshCommonArgs(access: Pick<InventoryAccess, 'knownHostsFile'>): string {
  return `-o ${shellQuoteArg(`UserKnownHostsFile=${sshConfigValue(access.knownHostsFile)}`)} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`;
}

function group(name: string, hosts: string[], children: string[] = [], vars: InventoryVars = {}): InventoryGroup {
  return { name, hosts, children, vars };
}

/** Inventory node name of a config's short name (`controller` → `pharos-controller`). */
function resolveNodeName(cluster: ClusterPlan, ref: string): string {
  const n = cluster.nodes.find((x) => x.shortName === ref || x.name === ref);
  if (!n) {
    throw new PharosError(`storage.beegfs names node '${ref}', which is not in cluster ${cluster.name}`, {
      hint: `use one of: ${cluster.nodes.map((x) => x.shortName).join(', ')}`,
    });
  }
  return n.name;
}

function buildHpc(cluster: ClusterPlan, access: InventoryAccess): Inventory {
  const hosts: Record<string, InventoryVars> = {};
  const controllers: string[] = [];
  const computes: string[] = [];
  const gpuNodes: string[] = [];
  const gres: string[] = [];
  for (const node of cluster.nodes) {
    const devices = gpuDevices(node);
    const real = devices.filter((d) => d.type !== 'emulated').length;
    hosts[node.name] = {
      ...connectionVars(cluster, node, access),
      slurm_node_name: node.name,
      short_name: node.shortName,
      node_role: node.role,
      cluster_ip: node.ip,
      cpu_cores: node.vcpus,
      memory_mb: node.memoryMiB,
      slurm_real_memory: slurmRealMemory(node.memoryMiB),
      has_gpu: devices.length > 0,
      gpu_count: devices.length,
      // A node with only emulated GPUs: no driver, no device isolation.
      gpu_emulated: devices.length > 0 && real === 0,
      gpu_devices: devices.map((d) => ({ type: d.type, file: d.file })),
      slurm_gres: slurmGres(devices, migGres(node)),
      virtiofs_mounts: virtiofsMounts(node),
    };
    if (node.role === 'controller') controllers.push(node.name);
    else {
      computes.push(node.name);
      gres.push(...gresLines(node));
    }
    if (devices.length > 0) gpuNodes.push(node.name);
  }
  if (controllers.length === 0) throw new PharosError(`cluster ${cluster.name} has no controller node`);
  const slurm = cluster.slurm ?? { partitions: ['debug'], defaultPartition: 'debug', maxJobTime: '' };
  const vars: InventoryVars = {
    ansible_ssh_common_args: sshCommonArgs(access),
    pharos_cluster_name: cluster.name,
    cluster_subnet: cluster.network.subnet,
    slurm_cluster_name: slurmClusterName(cluster.name),
    slurm_partitions: [...slurm.partitions],
    slurm_default_partition: slurm.defaultPartition,
    slurm_max_time: slurm.maxJobTime.trim() === '' ? 'UNLIMITED' : slurm.maxJobTime,
    slurm_gres_lines: gres,
    shared_storage: cluster.storage.shared,
    shared_mount_point: cluster.storage.mountPoint,
    monitoring_prometheus: cluster.monitoring.prometheus,
    monitoring_node_exporter: cluster.monitoring.nodeExporter,
    monitoring_grafana: cluster.monitoring.grafana,
    monitoring_dcgm: cluster.monitoring.dcgm,
    ...jobVars(cluster, access),
    ...registryVars(cluster),
  };
  const children = ['hpc_controllers', 'hpc_compute_nodes', 'hpc_gpu_nodes'];
  const extra: InventoryGroup[] = [];
  const bg = cluster.storage.beegfs;
  if (cluster.storage.shared === 'beegfs' && bg) {
    const mgmt = resolveNodeName(cluster, bg.managementNode);
    Object.assign(vars, {
      beegfs_mgmt_node: mgmt,
      beegfs_mount_point: bg.mountPoint,
      beegfs_mount_options: bg.mountOptions,
      beegfs_auto_mount: bg.autoMount,
    });
    extra.push(
      group('beegfs_mgmt', [mgmt]),
      group('beegfs_meta', bg.metadataNodes.map((r) => resolveNodeName(cluster, r))),
      group('beegfs_storage', bg.storageNodes.map((r) => resolveNodeName(cluster, r))),
      group('beegfs_clients', cluster.nodes.map((n) => n.name)),
    );
    children.push(...extra.map((g) => g.name));
  }
  return {
    cluster: cluster.name,
    kind: 'hpc',
    hosts,
    groups: [
      group('hpc', [], children, vars),
      group('hpc_controllers', controllers),
      group('hpc_compute_nodes', computes),
      group('hpc_gpu_nodes', gpuNodes),
      ...extra,
    ],
  };
}

function buildCloud(cluster: ClusterPlan, access: InventoryAccess): Inventory {
  const hosts: Record<string, InventoryVars> = {};
  const planes: string[] = [];
  const workers: string[] = [];
  for (const node of cluster.nodes) {
    const devices = gpuDevices(node);
    hosts[node.name] = {
      ...connectionVars(cluster, node, access),
      node_role: node.role,
      short_name: node.shortName,
      cluster_ip: node.ip,
      // Kubespray's names for the address nodes talk to each other on.
      ip: node.ip,
      access_ip: node.ip,
      cpu_cores: node.vcpus,
      memory_mb: node.memoryMiB,
      has_gpu: devices.length > 0,
      gpu_count: devices.length,
    };
    if (node.role === 'control-plane') planes.push(node.name);
    else workers.push(node.name);
  }
  if (planes.length === 0) throw new PharosError(`cluster ${cluster.name} has no control-plane node`);
  const k8s = cluster.kubernetes ?? { cni: 'calico', ingress: 'nginx', storageClass: 'local-path', packageRepo: DEFAULT_K8S_REPO, version: DEFAULT_K8S_VERSION, podSubnet: DEFAULT_POD_SUBNET, preloadImages: [] };
  return {
    cluster: cluster.name,
    kind: 'cloud',
    hosts,
    groups: [
      group('k8s_cluster', [], ['kube_control_plane', 'kube_node'], {
        ansible_ssh_common_args: sshCommonArgs(access),
        pharos_cluster_name: cluster.name,
        cluster_subnet: cluster.network.subnet,
        // The base role (a dependency of cloud-node): names and time on this cluster's groups.
        base_hosts_group: 'k8s_cluster',
        base_time_server_group: 'kube_control_plane',
        kube_network_plugin: k8s.cni,
        ingress_controller: k8s.ingress,
        storage_class: k8s.storageClass,
        // The kubernetes role (ansible/roles/kubernetes): vendor packages, kubeadm.
        kubernetes_package_repo: k8s.packageRepo,
        kubernetes_version: k8s.version,
        kubernetes_pod_subnet: k8s.podSubnet,
        ...(k8s.cniManifest ? { kubernetes_cni_manifest: k8s.cniManifest } : {}),
      }),
      group('kube_control_plane', planes),
      group('kube_node', workers),
      // etcd runs on the control plane; kubespray wants it as its own group.
      group('etcd', [...planes]),
    ],
  };
}

export function buildInventory(cluster: ClusterPlan, access: InventoryAccess): Inventory {
  return cluster.kind === 'hpc' ? buildHpc(cluster, access) : buildCloud(cluster, access);
}

/** The registry on the controller, as the nodes reach it (`ip:port`); none: no vars. */
function registryVars(cluster: ClusterPlan): InventoryVars {
  const ctrl = cluster.nodes.find((n) => n.role === 'controller');
  if (!cluster.registry || !ctrl) return {};
  return { container_registry_port: cluster.registry.port, container_registry_address: `${ctrl.ip}:${cluster.registry.port}` };
}
