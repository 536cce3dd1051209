/**
 * Cross-field rules the schema cannot express. They run on a config that has
 * already passed the schema, so the types hold; each problem carries the
 * location of the field it is about.
 */
import type { ErrorDetail } from '../errors.js';
import type { ClusterConfig, HpcCluster } from './types.js';
import { configClusters, type ConfigNode } from './nodes.js';
import { inSubnet, ipToInt, isHostAddress, nthAddress, parseSubnet, subnetsOverlap } from './ip.js';
import { checkUsers } from './rules-users.js';
import { checkGpuPartitions } from './rules-gpu.js';
import { virtiofsReadOnly } from '../model.js';

/** What the virtio-fs role can turn into a mount unit name (its validate.yml). */
const VIRTIOFS_MOUNT_POINT = /^(\/+[A-Za-z0-9_:][A-Za-z0-9_.:-]*)+\/*$/;

export type Path = (string | number)[];
export type Locator = (path: Path, opts?: { key?: boolean }) => { line?: number; column?: number };

export interface HostCapacity {
  cpus: number;
  memoryMiB: number;
}

export function fieldPath(path: Path): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s ? `.${seg}` : seg;
  return s;
}

export interface RuleResult {
  errors: ErrorDetail[];
  warnings: ErrorDetail[];
}

export function checkRules(cfg: ClusterConfig, file: string, locate: Locator, host: HostCapacity): RuleResult {
  const errors: ErrorDetail[] = [];
  const warnings: ErrorDetail[] = [];
  const at = (path: Path, d: Omit<ErrorDetail, 'file' | 'field'>, key = false): ErrorDetail => ({
    file,
    ...locate(path, { key }),
    field: fieldPath(path),
    ...d,
  });
  const clusters = configClusters(cfg);

  // Cluster names and networks must not collide: they name libvirt objects.
  if (clusters.length === 2) {
    const [a, b] = clusters as [(typeof clusters)[0], (typeof clusters)[0]];
    if (a.name === b.name) {
      errors.push(at(['clusters', b.key, 'name'], { message: `cluster name \`${b.name}\` is also used by the ${a.key} cluster`, expected: 'a unique cluster name' }));
    }
    try {
      if (subnetsOverlap(parseSubnet(a.cfg.network.subnet), parseSubnet(b.cfg.network.subnet))) {
        errors.push(
          at(['clusters', b.key, 'network', 'subnet'], {
            message: `subnet ${b.cfg.network.subnet} overlaps the ${a.key} cluster's ${a.cfg.network.subnet}`,
            expected: 'disjoint subnets per cluster',
          }),
        );
      }
    } catch {
      /* malformed subnet reported below */
    }
    if (a.cfg.network.bridge === b.cfg.network.bridge) {
      errors.push(
        at(['clusters', b.key, 'network', 'bridge'], {
          message: `bridge \`${b.cfg.network.bridge}\` is also used by the ${a.key} cluster`,
          expected: 'a bridge name per cluster',
        }),
      );
    }
  }

  const vmNames = new Map<string, ConfigNode>();
  for (const c of clusters) {
    const subnetPath: Path = ['clusters', c.key, 'network', 'subnet'];
    let subnet: ReturnType<typeof parseSubnet> | undefined;
    try {
      subnet = parseSubnet(c.cfg.network.subnet);
      if (subnet.hostBitsSet) {
        errors.push(
          at(subnetPath, {
            message: `subnet ${c.cfg.network.subnet} has host bits set`,
            expected: 'a network address',
            hint: `did you mean \`${nthAddress(subnet, 0)}/${subnet.prefix}\`?`,
          }),
        );
      }
      // The prefix range (/8 to /28) is the schema's pattern, the one rule the network XML also keeps.
    } catch {
      errors.push(at(subnetPath, { message: `\`${c.cfg.network.subnet}\` is not a valid IPv4 subnet`, expected: 'a.b.c.d/N with each part 0-255' }));
    }
    const accel = c.cfg.hardware?.acceleration;
    if (accel?.mode === 'kvm' && accel.enable_kvm === false) {
      errors.push(
        at(['clusters', c.key, 'hardware', 'acceleration', 'mode'], {
          message: 'mode: kvm contradicts enable_kvm: false',
          hint: 'remove enable_kvm (the old switch) or set mode: tcg',
        }),
      );
    }
    const gateway = subnet ? nthAddress(subnet, 1) : undefined;
    const ips = new Map<number, ConfigNode>();
    for (const n of c.nodes) {
      const prev = vmNames.get(n.name);
      if (prev) {
        errors.push(at(n.path, { message: `VM name \`${n.name}\` is used twice`, expected: 'unique VM names' }));
      } else vmNames.set(n.name, n);
      if (n.ip === undefined) {
        if (subnet) errors.push(at(n.ipPath, { message: `no free address left in ${c.cfg.network.subnet} for ${n.name}`, expected: 'a larger subnet' }));
        continue;
      }
      if (subnet && !inSubnet(n.ip, subnet)) {
        errors.push(
          at(n.ipPath, {
            message: `${n.ip} is outside the cluster subnet ${c.cfg.network.subnet}`,
            expected: `an address in ${c.cfg.network.subnet}`,
          }),
        );
      } else if (subnet && !isHostAddress(n.ip, subnet)) {
        errors.push(at(n.ipPath, { message: `${n.ip} is the network or broadcast address of ${c.cfg.network.subnet}`, expected: 'a host address' }));
      } else if (n.ip === gateway) {
        errors.push(
          at(n.ipPath, {
            message: `${n.ip} is the gateway address of ${c.cfg.network.subnet}`,
            expected: `an address from ${subnet ? nthAddress(subnet, 2) : 'subnet+2'} up`,
          }),
        );
      }
      const key = ipToInt(n.ip);
      const other = ips.get(key);
      if (other) {
        errors.push(
          at(n.ipPath, {
            message: `${n.ip} is already used by ${other.name}`,
            expected: 'a unique address per VM',
          }),
        );
      } else ips.set(key, n);

      // Per-node: a device listed twice, the GPU function not first, duplicate virtiofs tags.
      const seen = new Set<string>();
      n.pcie.forEach((d, i) => {
        const addr = d.pci_address.toLowerCase();
        if (seen.has(addr)) {
          errors.push(at([...n.path, 'pcie_passthrough', 'devices', i, 'pci_address'], { message: `${addr} is listed twice on ${n.name}` }));
        }
        seen.add(addr);
      });
      const gpuIdx = n.pcie.findIndex((d) => d.device_type === 'gpu');
      if (gpuIdx > 0) {
        warnings.push(
          at([...n.path, 'pcie_passthrough', 'devices', gpuIdx], {
            message: `the GPU of ${n.name} is not the first device`,
            hint: 'list the GPU function first: its ROM BAR is enabled only for the first device',
          }),
        );
      }
      const tags = new Set<string>();
      const mounts = new Set<string>();
      n.virtiofs.forEach((m, i) => {
        const p = [...n.path, 'virtio_fs_mounts', i];
        if (tags.has(m.tag)) {
          errors.push(at([...p, 'tag'], { message: `virtio-fs tag \`${m.tag}\` is used twice on ${n.name}`, expected: 'unique tags per node' }));
        }
        tags.add(m.tag);
        const where = m.mount_point.replace(/\/+$/, '') || '/';
        if (mounts.has(where)) {
          errors.push(at([...p, 'mount_point'], { message: `${where} is mounted twice on ${n.name}`, expected: 'one mount per mount point' }));
        }
        mounts.add(where);
        // The guest role names a mount unit after its path: a component that
        // starts with a dot has no plain unit name, so it is refused here first.
        if (!VIRTIOFS_MOUNT_POINT.test(m.mount_point)) {
          errors.push(at([...p, 'mount_point'], {
            message: `${m.mount_point} cannot be a virtio-fs mount point`,
            expected: 'an absolute path of letters, digits and _.:- with no component starting with a dot',
          }));
        }
        // Through a read-only mount nothing can chown or chmod the shared root.
        const ro = virtiofsReadOnly(m);
        for (const key of ['owner', 'group', 'mode'] as const) {
          if (ro && m[key] !== undefined) {
            errors.push(at([...p, key], {
              message: `${key} is set on a read-only (ro) mount of ${n.name}`,
              expected: `no ${key} with options ro`,
              hint: 'set the owner and mode on the host directory, or mount it rw',
            }));
          }
        }
      });
      if (n.cpuCores > host.cpus) {
        warnings.push(
          at([...n.path, 'cpu_cores'], {
            message: `${n.name} asks for ${n.cpuCores} vCPUs; this host has ${host.cpus}`,
            hint: 'it will run, but slowly; lower cpu_cores for a workstation test',
          }),
        );
      }
    }

    // PCI devices: two nodes of one cluster can never share one.
    const owners = new Map<string, ConfigNode>();
    for (const n of c.nodes) {
      n.pcie.forEach((d, i) => {
        const addr = d.pci_address.toLowerCase();
        const o = owners.get(addr);
        if (o && o !== n) {
          errors.push(
            at([...n.path, 'pcie_passthrough', 'devices', i, 'pci_address'], {
              message: `PCI device ${addr} is assigned to both ${o.name} and ${n.name}`,
              expected: 'each device passed through to one node of a cluster',
            }),
          );
        } else owners.set(addr, n);
      });
    }

    if (c.key === 'hpc') {
      const h = c.cfg as HpcCluster;
      const sc = h.slurm_config;
      const parts = new Set<string>();
      sc.partitions.forEach((p, i) => {
        if (parts.has(p)) errors.push(at(['clusters', 'hpc', 'slurm_config', 'partitions', i], { message: `partition \`${p}\` is listed twice` }));
        parts.add(p);
      });
      if (!parts.has(sc.default_partition)) {
        errors.push(
          at(['clusters', 'hpc', 'slurm_config', 'default_partition'], {
            message: `default partition \`${sc.default_partition}\` is not among the partitions`,
            expected: `one of: ${sc.partitions.join(', ')}`,
          }),
        );
      }
      if (h.users) errors.push(...checkUsers(h.users, ['clusters', 'hpc', 'users'], at));
      const bg = h.storage?.beegfs;
      if (bg && bg.enabled) {
        const names = new Set(c.nodes.map((n) => n.shortName));
        const check = (v: string, path: Path): void => {
          if (!names.has(v)) {
            errors.push(
              at(path, {
                message: `BeeGFS node \`${v}\` is not a node of this cluster`,
                expected: `one of: ${[...names].join(', ')}`,
              }),
            );
          }
        };
        const base: Path = ['clusters', 'hpc', 'storage', 'beegfs'];
        if (bg.management_node !== undefined) check(bg.management_node, [...base, 'management_node']);
        bg.metadata_nodes?.forEach((v, i) => check(v, [...base, 'metadata_nodes', i]));
        bg.storage_nodes?.forEach((v, i) => check(v, [...base, 'storage_nodes', i]));
      }
      if (h.storage?.shared === 'beegfs' && !(bg && bg.enabled)) {
        errors.push(
          at(['clusters', 'hpc', 'storage', 'shared'], {
            message: 'shared storage is beegfs but storage.beegfs.enabled is not true',
            hint: 'set storage.beegfs.enabled: true with a mount_point, or use shared: nfs',
          }),
        );
      }
    }
  }

  // Across clusters a device may be shared, but only one of its nodes may start
  // on its own: two auto-started VMs cannot both hold the same GPU.
  if (clusters.length === 2) {
    const [a, b] = clusters as [(typeof clusters)[0], (typeof clusters)[0]];
    for (const nb of b.nodes) {
      nb.pcie.forEach((d, i) => {
        const addr = d.pci_address.toLowerCase();
        for (const na of a.nodes) {
          if (!na.pcie.some((x) => x.pci_address.toLowerCase() === addr)) continue;
          if (na.autoStart && nb.autoStart) {
            errors.push(
              at([...nb.path, 'pcie_passthrough', 'devices', i, 'pci_address'], {
                message: `PCI device ${addr} is assigned to ${na.name} and ${nb.name}, and both start automatically`,
                hint: `set \`auto_start: false\` on one of them (${nb.name} at ${fieldPath(nb.path)})`,
              }),
            );
          }
        }
      });
    }
  }

  // GPU partitions: across both clusters (a GPU is the host's, not a cluster's).
  errors.push(...checkGpuPartitions(clusters.flatMap((c) => c.nodes), at));

  // Memory: everything that starts at once must fit.
  const all = clusters.flatMap((c) => c.nodes).filter((n) => n.autoStart);
  const totalMiB = all.reduce((s, n) => s + n.memoryGb * 1024, 0);
  if (totalMiB > host.memoryMiB) {
    warnings.push({
      file,
      ...locate(['clusters']),
      field: 'clusters',
      message: `the VMs that start automatically need ${Math.round(totalMiB / 1024)} GiB of memory; this host has ${Math.round(host.memoryMiB / 1024)} GiB`,
      hint: 'lower memory_gb, or set auto_start: false on some nodes',
    });
  }
  return { errors, warnings };
}
