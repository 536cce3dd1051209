/**
 * The environment every check script sees, derived from the `ClusterPlan`
 * alone, so a check never hard-codes node names, IPs or GPU counts.
 *
 * Lists are space-separated and in plan order; `PHAROS_NODE_IPS[i]` belongs to
 * `PHAROS_NODES[i]`.
 *
 *   PHAROS_CLUSTER          cluster name
 *   PHAROS_NODES            short names of all nodes (controller first as planned)
 *   PHAROS_NODE_DOMAINS     libvirt domain names of all nodes
 *   PHAROS_NODE_IPS         cluster-network IPs of all nodes
 *   PHAROS_CONTROLLER       short name of the controller
 *   PHAROS_CONTROLLER_IP    its cluster-network IP
 *   PHAROS_COMPUTE_NODES    short names of the compute nodes
 *   PHAROS_COMPUTE_IPS      their IPs
 *   PHAROS_COMPUTE_COUNT    how many
 *   PHAROS_GPU_COUNTS       `compute-01=2 compute-02=2` (emulated + passed-through GPUs)
 *   PHAROS_TOTAL_GPUS       sum of the above
 *   PHAROS_PARTITION        default Slurm partition (`debug`)
 *   PHAROS_SHARED           shared storage mount point (`/shared`)
 *   PHAROS_SHARED_KIND      nfs | beegfs | none
 *   PHAROS_PROMETHEUS       1 when Prometheus runs on the controller, else 0
 *   PHAROS_NODE_EXPORTER    1 when node exporter runs on every node, else 0
 *   PHAROS_USERS            `name:uid:gid` of each configured user
 *   PHAROS_HOME_ROOT        where their homes are (`/shared/home`)
 *   PHAROS_ACCOUNTING       1 when slurmdbd keeps accounting, else 0
 *   PHAROS_ACCOUNT          the account users are registered under
 * Per check run (see nodeEnv):
 *   PHAROS_NODE, PHAROS_NODE_DOMAIN, PHAROS_NODE_IP, PHAROS_NODE_ROLE
 *   PHAROS_NODE_VIRTIOFS    this node's virtio-fs mounts, space-separated
 *                           `tag:ro|rw:owner:group:mode:mount_point` (`-` for
 *                           an unset owner/group/mode; the mount point last, so
 *                           `IFS=: read -r` keeps any colon in it); empty: none
 *   PHAROS_SUITE, PHAROS_CHECK, PHAROS_RUN_ID
 *   PHAROS_HOST_EPOCH_MS    the runner's clock when the check was launched
 */
import { DEFAULT_ACCOUNT, realGpus, virtiofsReadOnly, type ClusterPlan, type NodePlan } from '../model.js';
import { PharosError } from '../errors.js';

export function isController(n: NodePlan): boolean {
  return n.role === 'controller' || n.role === 'control-plane';
}

export function isCompute(n: NodePlan): boolean {
  return n.role === 'compute' || n.role === 'gpu-worker' || n.role === 'cpu-worker';
}

export function controllerOf(cluster: ClusterPlan): NodePlan {
  const c = cluster.nodes.find(isController);
  if (!c) throw new PharosError(`cluster ${cluster.name} has no controller node`);
  return c;
}

export function computeNodes(cluster: ClusterPlan): NodePlan[] {
  return cluster.nodes.filter(isCompute);
}

/** GPUs a node offers to Slurm: emulated ones plus passed-through GPU devices. */
export function gpuCount(n: NodePlan): number {
  return n.emulatedGpus + realGpus(n).length;
}

/** Where the users role puts homes: `home` on the shared storage (its
 *  `pharos_home_root`), `/home` on a cluster without one. */
export function homeRoot(cluster: ClusterPlan): string {
  return `${cluster.storage.mountPoint}/home`;
}

export function clusterEnv(cluster: ClusterPlan): Record<string, string> {
  const controller = cluster.nodes.find(isController);
  const computes = computeNodes(cluster);
  const gpus = computes.map((n) => [n.shortName, gpuCount(n)] as const);
  return {
    PHAROS_CLUSTER: cluster.name,
    PHAROS_NODES: cluster.nodes.map((n) => n.shortName).join(' '),
    PHAROS_NODE_DOMAINS: cluster.nodes.map((n) => n.name).join(' '),
    PHAROS_NODE_IPS: cluster.nodes.map((n) => n.ip).join(' '),
    PHAROS_CONTROLLER: controller?.shortName ?? '',
    PHAROS_CONTROLLER_IP: controller?.ip ?? '',
    PHAROS_COMPUTE_NODES: computes.map((n) => n.shortName).join(' '),
    PHAROS_COMPUTE_IPS: computes.map((n) => n.ip).join(' '),
    PHAROS_COMPUTE_COUNT: String(computes.length),
    PHAROS_GPU_COUNTS: gpus.map(([n, g]) => `${n}=${g}`).join(' '),
    PHAROS_TOTAL_GPUS: String(gpus.reduce((s, [, g]) => s + g, 0)),
    PHAROS_PARTITION: cluster.slurm?.defaultPartition ?? 'debug',
    PHAROS_SHARED: cluster.storage.mountPoint || '/shared',
    PHAROS_SHARED_KIND: cluster.storage.shared,
    PHAROS_PROMETHEUS: cluster.monitoring.prometheus ? '1' : '0',
    PHAROS_NODE_EXPORTER: cluster.monitoring.nodeExporter ? '1' : '0',
    PHAROS_USERS: cluster.users.map((u) => `${u.name}:${u.uid}:${u.gid}`).join(' '),
    PHAROS_HOME_ROOT: homeRoot(cluster),
    PHAROS_ACCOUNTING: cluster.slurm?.accounting.enabled ? '1' : '0',
    PHAROS_ACCOUNT: cluster.slurm?.accounting.defaultAccount ?? DEFAULT_ACCOUNT,
  };
}

export function nodeEnv(node: NodePlan): Record<string, string> {
  return {
    PHAROS_NODE: node.shortName,
    PHAROS_NODE_DOMAIN: node.name,
    PHAROS_NODE_IP: node.ip,
    PHAROS_NODE_ROLE: node.role,
    PHAROS_NODE_VIRTIOFS: node.virtiofs
      .map((m) => [m.tag, virtiofsReadOnly(m) ? 'ro' : 'rw', m.owner ?? '-', m.group ?? '-', m.mode ?? '-', m.mountPoint].join(':'))
      .join(' '),
  };
}
