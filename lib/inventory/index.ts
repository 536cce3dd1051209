/**
 * The Ansible inventory of one cluster, derived from its plan and the live
 * access details (where SSH reaches each node). One `Inventory` value is built
 * and then written as INI or YAML; both forms must mean the same thing to
 * Ansible (the unit tests parse both with `ansible-inventory` and compare).
 *
 * Every value the roles need (Slurm settings, GRES lines, storage choice,
 * monitoring switches) is put here, so the roles never read the YAML config.
 *
 * Values are data, never templates: Ansible evaluates `{{ … }}` in inventory
 * strings (as root, on the host), so the YAML form tags every string
 * `!unsafe`, and the INI form, which has no such tag, refuses a string that
 * could start a template (`{`). Deploys read the YAML form.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Document, visit } from 'yaml';
import { PharosError } from '../errors.js';
import { realGpus, type ClusterPlan, type NodePlan } from '../model.js';
import { writeFileAtomic } from '../util/atomic.js';
import { endpointFor, type NodeAccess, type SshAccess } from '../cluster/access.js';

export type InventoryValue = string | number | boolean | InventoryValue[] | { [key: string]: InventoryValue };
export type InventoryVars = Record<string, InventoryValue>;

export interface InventoryGroup {
  name: string;
  /** Host names directly in this group. */
  hosts: string[];
  /** Names of child groups. */
  children: string[];
  vars: InventoryVars;
}

export interface Inventory {
  cluster: string;
  kind: ClusterPlan['kind'];
  /** Host variables, in node order. */
  hosts: Record<string, InventoryVars>;
  /** Groups in output order (parents before the children they list). */
  groups: InventoryGroup[];
}

export type { NodeAccess } from '../cluster/access.js';

/** Where SSH reaches each node (lib/cluster/access.ts, read from the cluster's
 *  state). Nodes missing here get their `nat` endpoint (cluster IP, port 22)
 *  in `nat` mode; in `user` mode a missing node is an error. */
export type InventoryAccess = SshAccess;

/** One GPU as Slurm sees it. */
export interface GpuDevice {
  type: string;
  file: string;
}

const VENDOR_NAMES: Record<string, string> = { '10de': 'nvidia', '1002': 'amd', '8086': 'intel' };

/** Memory the guest kernel keeps for itself: slurmd reports less than the VM's
 *  size, and a node configured above what slurmd sees is drained as "Low
 *  RealMemory". 5% with a 128 MiB floor leaves 896 of 1024 MiB (a 1 GiB Debian
 *  guest reports about 960). */
export function slurmRealMemory(memoryMiB: number): number {
  return Math.max(1, memoryMiB - Math.max(128, Math.ceil(memoryMiB * 0.05)));
}

/** Slurm lower-cases cluster names; `-` is avoided because slurmdbd builds
 *  table names from it. */
export function slurmClusterName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** The GPUs of a node in Slurm's terms: passed-through GPUs as
 *  `<vendor>_<device>` on `/dev/nvidiaK` (`/dev/dri/renderD(128+K)` for other
 *  vendors), then emulated ones as `emulated` on `/dev/pharos-gpuK`. */
export function gpuDevices(node: NodePlan): GpuDevice[] {
  const out: GpuDevice[] = [];
  const real = realGpus(node);
  real.forEach((d, k) => {
    const vendor = VENDOR_NAMES[d.vendorId.toLowerCase()] ?? d.vendorId.toLowerCase();
    const file = vendor === 'nvidia' ? `/dev/nvidia${k}` : `/dev/dri/renderD${128 + k}`;
    out.push({ type: `${vendor}_${d.deviceId.toLowerCase()}`, file });
  });
  for (let k = 0; k < node.emulatedGpus; k++) out.push({ type: 'emulated', file: `/dev/pharos-gpu${k}` });
  return out;
}

/** `gpu:nvidia_2805:1,gpu:emulated:2`: counts per type, in device order. */
export function slurmGres(devices: GpuDevice[]): string {
  const counts = new Map<string, number>();
  for (const d of devices) counts.set(d.type, (counts.get(d.type) ?? 0) + 1);
  return [...counts].map(([t, n]) => `gpu:${t}:${n}`).join(',');
}

export function gresLines(node: NodePlan): string[] {
  return gpuDevices(node).map((d) => `NodeName=${node.name} Name=gpu Type=${d.type} File=${d.file}`);
}

function accessFor(cluster: ClusterPlan, node: NodePlan, access: InventoryAccess): NodeAccess {
  const a = access.nodes.get(node.name);
  if (a) return a;
  if (cluster.network.mode === 'nat') return endpointFor('nat', node);
  throw new PharosError(`no SSH address for node ${node.name}`, {
    hint: `in 'user' network mode each VM's SSH port comes from the running VM; start it first (pharos build vm:${node.name})`,
  });
}

function connectionVars(cluster: ClusterPlan, node: NodePlan, access: InventoryAccess): InventoryVars {
  const a = accessFor(cluster, node, access);
  return {
    ansible_host: a.host,
    ansible_port: a.port,
    ansible_user: access.user,
    ansible_ssh_private_key_file: access.keyFile,
  };
}

function sshCommonArgs(access: InventoryAccess): string {
  return `-o UserKnownHostsFile=${access.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`;
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
      slurm_gres: slurmGres(devices),
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
  const k8s = cluster.kubernetes ?? { cni: 'calico', ingress: 'nginx', storageClass: 'local-path' };
  return {
    cluster: cluster.name,
    kind: 'cloud',
    hosts,
    groups: [
      group('k8s_cluster', [], ['kube_control_plane', 'kube_node'], {
        ansible_ssh_common_args: sshCommonArgs(access),
        pharos_cluster_name: cluster.name,
        cluster_subnet: cluster.network.subnet,
        kube_network_plugin: k8s.cni,
        ingress_controller: k8s.ingress,
        storage_class: k8s.storageClass,
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

// ---------------------------------------------------------------- writers

/** Groups that no other group lists as a child. */
function roots(inv: Inventory): InventoryGroup[] {
  const listed = new Set(inv.groups.flatMap((g) => g.children));
  return inv.groups.filter((g) => !listed.has(g.name));
}

/** YAML inventory. Host variables are written where a host first appears;
 *  later mentions list the host alone (Ansible merges them). YAML 1.1 output
 *  because Ansible reads YAML 1.1: values like `24:00:00` must be quoted there. */
export function toYaml(inv: Inventory): string {
  const byName = new Map(inv.groups.map((g) => [g.name, g]));
  const placed = new Set<string>();
  const render = (g: InventoryGroup): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (g.hosts.length > 0) {
      const hosts: Record<string, unknown> = {};
      for (const h of g.hosts) {
        const vars = inv.hosts[h];
        hosts[h] = !placed.has(h) && vars && Object.keys(vars).length > 0 ? vars : null;
        placed.add(h);
      }
      out.hosts = hosts;
    }
    if (Object.keys(g.vars).length > 0) out.vars = g.vars;
    if (g.children.length > 0) {
      const children: Record<string, unknown> = {};
      for (const c of g.children) {
        const child = byName.get(c);
        children[c] = child ? render(child) : null;
      }
      out.children = children;
    }
    return out;
  };
  const children: Record<string, unknown> = {};
  for (const g of roots(inv)) children[g.name] = render(g);
  const doc = new Document({ all: { children } }, { version: '1.1' });
  // Every string value (not the keys: host, group and variable names) is
  // `!unsafe`: Ansible keeps it as text and never renders it as a template.
  visit(doc, {
    Scalar(key, node) {
      if (key !== 'key' && typeof node.value === 'string') node.tag = '!unsafe';
    },
  });
  return `# Generated by Pharos for cluster ${inv.cluster}; do not edit.\n` + doc.toString({ lineWidth: 0, nullStr: '' });
}

/** Ansible's INI inventory cannot mark a value unsafe, and any string with
 *  `{` could open a Jinja template (`{{`, `{%`, `{#`), alone or next to
 *  another value. Such a value is refused rather than written. */
function assertIniData(where: string, key: string, v: InventoryValue): void {
  if (typeof v === 'string') {
    if (v.includes('{')) {
      throw new PharosError(`inventory variable ${key} of ${where} contains \`{\`, which Ansible's INI inventory would evaluate as a template: ${JSON.stringify(v)}`, {
        hint: 'use the YAML inventory (`pharos inventory --format yaml`, inventory.yml), where every value is !unsafe data',
        exitCode: 2,
      });
    }
  } else if (Array.isArray(v)) v.forEach((x) => assertIniData(where, key, x));
  else if (typeof v === 'object') for (const x of Object.values(v)) assertIniData(where, key, x);
}

/** Strings that Python's `ast.literal_eval` would turn into something else
 *  (numbers, booleans, None) or that hold characters the INI format splits on. */
function bareSafe(s: string): boolean {
  if (!/^[A-Za-z0-9_./:@,+-]+$/.test(s)) return false;
  if (/^(True|False|None)$/.test(s)) return false;
  // Anything that starts like a number could be read as one (1, 1.5, 1e3, 0x1f, 1_000).
  if (/^[-+]?[0-9.]/.test(s) && !/^[0-9]+\.[0-9]+\.[0-9]+/.test(s)) return false;
  return true;
}

/** A value as a Python literal: what Ansible's INI parser reads with
 *  `ast.literal_eval`. JSON string escapes are valid Python. */
function pyLiteral(v: InventoryValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(', ')}}`;
}

/** A `[group:vars]` value: the rest of the line after `=`. */
function iniGroupValue(v: InventoryValue): string {
  return typeof v === 'string' && bareSafe(v) ? v : pyLiteral(v);
}

/** A `key=value` token on a host line, which Ansible splits like a shell. */
function iniHostValue(v: InventoryValue): string {
  if (typeof v === 'string' && bareSafe(v)) return v;
  const lit = pyLiteral(v);
  return /^[A-Za-z0-9_./:@,+-]+$/.test(lit) ? lit : `'${lit.replace(/'/g, `'\\''`)}'`;
}

export function toIni(inv: Inventory): string {
  for (const [h, vars] of Object.entries(inv.hosts)) for (const [k, v] of Object.entries(vars)) assertIniData(`host ${h}`, k, v);
  for (const g of inv.groups) for (const [k, v] of Object.entries(g.vars)) assertIniData(`group ${g.name}`, k, v);
  const lines: string[] = [`# Generated by Pharos for cluster ${inv.cluster}; do not edit.`];
  const placed = new Set<string>();
  // Children before parents is not required by Ansible, but hosts carry their
  // vars on their first line, so groups with hosts come first in plan order.
  for (const g of inv.groups) {
    if (g.hosts.length === 0) continue;
    lines.push('', `[${g.name}]`);
    for (const h of g.hosts) {
      const vars = inv.hosts[h];
      if (placed.has(h) || !vars) {
        lines.push(h);
        continue;
      }
      placed.add(h);
      lines.push([h, ...Object.entries(vars).map(([k, v]) => `${k}=${iniHostValue(v)}`)].join(' '));
    }
  }
  for (const g of inv.groups) {
    if (g.hosts.length === 0 && g.children.length === 0 && Object.keys(g.vars).length === 0) {
      // An empty group still exists for playbooks that name it.
      lines.push('', `[${g.name}]`);
    }
    if (g.children.length > 0) lines.push('', `[${g.name}:children]`, ...g.children);
    if (Object.keys(g.vars).length > 0) {
      lines.push('', `[${g.name}:vars]`, ...Object.entries(g.vars).map(([k, v]) => `${k}=${iniGroupValue(v)}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

export type InventoryFormat = 'ini' | 'yaml';

export function renderInventory(inv: Inventory, format: InventoryFormat): string {
  return format === 'ini' ? toIni(inv) : toYaml(inv);
}

/** Writes `inventory.ini` and `inventory.yml` into `dir` (temp file + rename,
 *  so a reader never sees half a file) and returns their paths. Deploys use
 *  the YAML one (its values are `!unsafe`); the INI one is for people. */
export async function writeInventory(inv: Inventory, dir: string): Promise<{ ini: string; yaml: string }> {
  await mkdir(dir, { recursive: true });
  const out = { ini: join(dir, 'inventory.ini'), yaml: join(dir, 'inventory.yml') };
  let ini: string;
  try {
    ini = toIni(inv);
  } catch (e) {
    if (!(e instanceof PharosError)) throw e;
    // The deploy reads inventory.yml; an INI that cannot hold a value says why instead.
    ini = `# Pharos wrote no INI inventory for cluster ${inv.cluster}: ${e.message.replace(/\s+/g, ' ')}\n# Use inventory.yml beside this file.\n`;
  }
  for (const [file, text] of [
    [out.ini, ini],
    [out.yaml, toYaml(inv)],
  ] as const) {
    await writeFileAtomic(file, text, 0o644);
  }
  return out;
}
