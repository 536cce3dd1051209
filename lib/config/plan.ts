/**
 * What a validated config means for the machine: `planSystem` turns a
 * `LoadedConfig` into the `SystemPlan` every downstream module reads. All
 * defaults for optional fields are applied here, once.
 *
 * Decisions (documented for users in `pharos plan`):
 * - VM names: `<cluster>-controller`, `<cluster>-compute-NN`; cloud:
 *   `<cluster>-control-plane`, `<cluster>-cpu-worker-NN`, `<cluster>-gpu-worker-NN`
 *   (a worker with a GPU passed through is a gpu-worker; each kind numbered from 01).
 * - `ip: DHCP` nodes get the first free address from subnet+11 (see nodes.ts).
 * - MAC: sha256 of the VM name, first octet forced locally administered (bit
 *   0x02 set) and unicast (bit 0x01 clear); stable across runs and machines.
 *   A `user`-mode VM's management NIC (`mgmtMac`): QEMU's 52:54:00 prefix and
 *   three bytes of sha256(`<name>:mgmt`). The cluster code reads both from the
 *   plan and never derives a MAC itself.
 * - Images: a `base_image_path` under `build/packer/` naming hpc-controller,
 *   hpc-compute or cloud-base means the image Pharos builds; any other path is a
 *   user image, made absolute against the config file's directory. No path at all: controller → hpc-controller, compute →
 *   hpc-compute, cloud → cloud-base.
 * - Acceleration: `mode`, else `enable_kvm: false` → tcg, else auto.
 * - Shared storage: `storage.shared`, else beegfs when beegfs is enabled, else
 *   nfs (hpc); cloud clusters have none.
 * - Monitoring: prometheus and node_exporter on, grafana off, dcgm on when a
 *   node has a real GPU passed through.
 * - Slurm accounting: off unless `slurm_config.accounting.enabled`; account
 *   `pharos`, samples every 30 s. Users: gid = uid, shell /bin/bash. The
 *   user's prolog/epilog scripts are read here (scripts.ts), relative paths
 *   against the config file's directory, so their content is in the plan.
 * - `user` network mode: SSH of VM i of cluster c forwarded from 127.0.0.1 port
 *   22200 + 100·c + i (c = 0 for hpc, 1 for cloud; i in node order). This is
 *   the port a VM is first given; when it is busy (another program, another
 *   cluster's VM) the VM gets another one, and from then on the port recorded
 *   in the cluster's state is the VM's port (see lib/cluster/access.ts).
 * - GPU partitions: a node's `partitions` only when it has `gpu_partitions`;
 *   an mdev without `uuids` gets `mdevUuidFor(vm, parent, type, index)`.
 */
import { dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type {
  AccelerationSetting,
  BaseImagePlan,
  ClusterPlan,
  CpuPlan,
  GpuPartitionPlan,
  ImageRef,
  MonitoringPlan,
  NetworkPlan,
  NodePlan,
  PciDevicePlan,
  SlurmPlan,
  StoragePlan,
  SystemPlan,
  UserPlan,
} from '../model.js';
import { DEFAULT_ACCOUNT, DEFAULT_JOBACCT_FREQUENCY, DEFAULT_K8S_REPO, DEFAULT_K8S_VERSION, DEFAULT_POD_SUBNET, DEFAULT_REGISTRY_PORT, hasRealGpu } from '../model.js';
import type { LoadedConfig } from './load.js';
import type { CloudCluster, GpuPartition, HardwareAcceleration, HpcCluster, Monitoring, PciDevice } from './types.js';
import { configClusters, type ConfigCluster, type ConfigNode } from './nodes.js';
import { netmask, nthAddress, parseSubnet } from './ip.js';
import { fieldPath } from './rules.js';
import { readUserScripts } from './scripts.js';

export const DEFAULT_LIBVIRT_URI = 'qemu:///system';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const DEFAULT_SUITE = 'bookworm';
export const SSH_PORT_BASE = 22200;
export const DEFAULT_SHELL = '/bin/bash';

/** Locally administered unicast MAC from a hash of `name`. */
export function macFor(name: string): string {
  const h = createHash('sha256').update(name).digest();
  const b = [...h.subarray(0, 6)];
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** QEMU-style MAC: the 52:54:00 prefix (locally administered, unicast) and
 *  three bytes of sha256(`name:purpose`). A `user`-mode VM's management NIC
 *  has `qemuMacFor(name, 'mgmt')`. */
export function qemuMacFor(name: string, purpose: 'cluster' | 'mgmt' = 'cluster'): string {
  const h = createHash('sha256').update(`${name}:${purpose}`).digest();
  return ['52', '54', '00', ...[...h.subarray(0, 3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** A mediated device's UUID when the config gives none: sha256 of
 *  `<vm>:<parent>:<type>:<index>` shaped as an RFC 9562 version-8 UUID, so the
 *  same node, GPU, type and position always name the same device. */
export function mdevUuidFor(vm: string, parent: string, mdevType: string, index: number): string {
  const b = [...createHash('sha256').update(`${vm}:${parent.toLowerCase()}:${mdevType}:${index}`).digest().subarray(0, 16)];
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function partitionPlan(vm: string, p: GpuPartition): GpuPartitionPlan {
  const parent = p.parent.toLowerCase();
  if (p.type === 'mig') return { kind: 'mig', parent, profile: p.profile, count: p.count };
  const uuids = p.uuids?.map((u) => u.toLowerCase()) ?? Array.from({ length: p.count }, (_, i) => mdevUuidFor(vm, parent, p.mdev_type, i));
  return { kind: 'mdev', parent, mdevType: p.mdev_type, uuids };
}

const BUILT = ['hpc-controller', 'hpc-compute', 'cloud-base', 'cloud-gpu-worker'] as const;

/** A node's image. A user path is made absolute against `baseDir` (the config
 *  file's directory), so no tool gets a relative path it could read as an
 *  option (`-U.qcow2`) and the config means the same file from any directory. */
export function imageRef(path: string | undefined, role: NodePlan['role'], baseDir: string = process.cwd()): ImageRef {
  // A GPU worker boots the cloud image with the GPU driver (the cluster's
  // default cloud-base path included: ai-how's samples point every node at it).
  const built = (name: (typeof BUILT)[number]): ImageRef => ({ kind: 'built', name: name === 'cloud-base' && role === 'gpu-worker' ? 'cloud-gpu-worker' : name });
  if (path === undefined) return built(role === 'controller' ? 'hpc-controller' : role === 'compute' ? 'hpc-compute' : 'cloud-base');
  const norm = path.replace(/\\/g, '/');
  if (/(^|\/)build\/packer\//.test(norm)) {
    const file = norm.split('/').pop() ?? '';
    for (const name of BUILT) {
      if (file === `${name}.qcow2` || norm.includes(`/packer/${name}/`)) return built(name);
    }
  }
  return { kind: 'path', path: resolve(baseDir, path) };
}

function pciPlan(d: PciDevice): PciDevicePlan {
  const addr = d.pci_address.toLowerCase();
  const p: PciDevicePlan = {
    address: addr,
    deviceType: d.device_type,
    // Unknown ids stay empty: the doctor reads them from sysfs.
    vendorId: (d.vendor_id ?? '').toLowerCase(),
    deviceId: (d.device_id ?? '').toLowerCase(),
  };
  if (d.iommu_group !== undefined) p.iommuGroup = d.iommu_group;
  return p;
}

export function accelerationSetting(a: HardwareAcceleration | undefined): AccelerationSetting {
  if (a?.mode) return a.mode;
  if (a?.enable_kvm === false) return 'tcg';
  return 'auto';
}

function cpuPlan(a: HardwareAcceleration | undefined, accel: AccelerationSetting): CpuPlan {
  let model: string = a?.cpu_model ?? 'host-model';
  if (model === 'host') model = 'host-passthrough';
  // An explicit tcg cluster has no host CPU to pass through.
  if (accel === 'tcg' && (model === 'host-passthrough' || model === 'host-model')) model = 'max';
  const plan: CpuPlan = {
    model,
    features: a?.cpu_features ?? [],
    pinning: a?.performance?.cpu_pinning ?? false,
    nested: a?.enable_nested ?? false,
  };
  if (a?.cpu_topology) plan.topology = { ...a.cpu_topology };
  return plan;
}

function monitoringPlan(m: Monitoring | undefined, hasGpu: boolean): MonitoringPlan {
  return {
    prometheus: m?.prometheus ?? true,
    nodeExporter: m?.node_exporter ?? true,
    grafana: m?.grafana ?? false,
    dcgm: m?.dcgm ?? hasGpu,
  };
}

function networkPlan(c: ConfigCluster): NetworkPlan {
  const s = parseSubnet(c.cfg.network.subnet);
  const mode = c.cfg.network.mode ?? 'nat';
  return {
    mode,
    subnet: `${nthAddress(s, 0)}/${s.prefix}`,
    prefix: s.prefix,
    gateway: nthAddress(s, 1),
    netmask: netmask(s.prefix),
    libvirtName: mode === 'nat' ? `${c.name}-network` : `${c.name}-cluster`,
    bridge: c.cfg.network.bridge,
  };
}

function nodePlan(n: ConfigNode, mode: NetworkPlan['mode'], clusterIndex: number, nodeIndex: number, configDir: string): NodePlan {
  const p: NodePlan = {
    name: n.name,
    shortName: n.shortName,
    cluster: n.cluster,
    role: n.role,
    vcpus: n.cpuCores,
    memoryMiB: n.memoryGb * 1024,
    diskGb: n.diskGb,
    // The rules guarantee an address for every node of a loaded config.
    ip: n.ip ?? '',
    mac: macFor(n.name),
    image: imageRef(n.baseImagePath, n.role, configDir),
    autoStart: n.autoStart,
    pcie: n.pcie.map(pciPlan),
    virtiofs: n.virtiofs.map((m, i) => {
      // A relative host_path is relative to the config file's directory, like base_image_path.
      const v: NodePlan['virtiofs'][number] = { tag: m.tag, hostPath: resolve(configDir, m.host_path), mountPoint: m.mount_point };
      if (m.owner !== undefined) v.owner = m.owner;
      if (m.group !== undefined) v.group = m.group;
      if (m.mode !== undefined) v.mode = m.mode;
      if (m.options !== undefined) v.options = m.options;
      if (m.create) v.create = true;
      v.field = fieldPath([...n.path, 'virtio_fs_mounts', i, 'host_path']);
      return v;
    }),
    emulatedGpus: n.emulatedGpus,
  };
  // Only a node with partitions has the field: every other plan (and its hash) is as before.
  if (n.partitions.length) p.partitions = n.partitions.map((x) => partitionPlan(n.name, x));
  if (mode === 'user') {
    p.sshPort = SSH_PORT_BASE + 100 * clusterIndex + nodeIndex;
    p.mgmtMac = qemuMacFor(n.name, 'mgmt');
  }
  return p;
}

function storagePlan(c: ConfigCluster): StoragePlan {
  if (c.key === 'cloud') return { shared: 'none', mountPoint: '', virtiofs: c.nodes.some((n) => n.virtiofs.length > 0) };
  const h = c.cfg as HpcCluster;
  const bg = h.storage?.beegfs;
  const shared = h.storage?.shared ?? (bg?.enabled ? 'beegfs' : 'nfs');
  const plan: StoragePlan = {
    shared,
    mountPoint: shared === 'nfs' ? '/shared' : shared === 'beegfs' ? (bg?.mount_point ?? '/mnt/beegfs') : '',
    virtiofs: h.storage?.virtio_fs?.enabled ?? c.nodes.some((n) => n.virtiofs.length > 0),
  };
  if (bg?.enabled) {
    plan.beegfs = {
      mountPoint: bg.mount_point,
      managementNode: bg.management_node ?? 'controller',
      metadataNodes: bg.metadata_nodes ?? ['controller'],
      // Every compute node; a controller-only cluster keeps its storage on the controller.
      storageNodes: bg.storage_nodes ?? (c.nodes.some((n) => n.role === 'compute') ? c.nodes.filter((n) => n.role === 'compute').map((n) => n.shortName) : ['controller']),
      mountOptions: bg.client_config?.mount_options ?? 'defaults,_netdev',
      autoMount: bg.client_config?.auto_mount ?? true,
    };
  }
  return plan;
}

function usersPlan(h: HpcCluster): UserPlan[] {
  return (h.users ?? []).map((u) => ({
    name: u.name,
    uid: u.uid,
    gid: u.gid ?? u.uid,
    groups: [...(u.groups ?? [])],
    sshKeys: [...(u.ssh_public_keys ?? [])],
    shell: u.shell ?? DEFAULT_SHELL,
  }));
}

function slurmPlan(h: HpcCluster, loaded: LoadedConfig): SlurmPlan {
  const sc = h.slurm_config;
  const field = ['clusters', 'hpc', 'slurm_config'];
  const dir = dirname(loaded.path);
  return {
    partitions: sc.partitions,
    defaultPartition: sc.default_partition,
    maxJobTime: sc.max_job_time ?? 'UNLIMITED',
    accounting: {
      enabled: sc.accounting?.enabled ?? false,
      defaultAccount: sc.accounting?.default_account ?? DEFAULT_ACCOUNT,
      jobAcctGatherFrequency: sc.accounting?.job_acct_gather_frequency ?? DEFAULT_JOBACCT_FREQUENCY,
    },
    prolog: readUserScripts(sc.prolog, [...field, 'prolog'], loaded.path, dir, loaded.locate),
    epilog: readUserScripts(sc.epilog, [...field, 'epilog'], loaded.path, dir, loaded.locate),
  };
}

export interface PlanOptions {
  env?: NodeJS.ProcessEnv;
}

export function planSystem(loaded: LoadedConfig, opts: PlanOptions = {}): SystemPlan {
  const env = opts.env ?? process.env;
  const cfg = loaded.config;
  const g = cfg.global ?? {};
  const bi = g.base_image;
  const baseImage: BaseImagePlan =
    bi && bi.source === 'cloud-image' && 'url' in bi
      ? { source: 'cloud-image', suite: DEFAULT_SUITE, mirror: DEFAULT_MIRROR, packages: [], url: bi.url, checksum: bi.checksum }
      : {
          source: 'mmdebstrap',
          suite: (bi && 'suite' in bi ? bi.suite : undefined) ?? DEFAULT_SUITE,
          mirror: (bi && 'mirror' in bi ? bi.mirror : undefined) ?? DEFAULT_MIRROR,
          packages: (bi && 'packages' in bi ? bi.packages : undefined) ?? [],
        };
  const clusters: ClusterPlan[] = configClusters(cfg).map((c, ci) => {
    const hw = c.cfg.hardware?.acceleration;
    const acceleration = accelerationSetting(hw);
    const network = networkPlan(c);
    const nodes = c.nodes.map((n, i) => nodePlan(n, network.mode, ci, i, dirname(loaded.path)));
    const hasGpu = hasRealGpu({ nodes });
    const perf = hw?.performance;
    const plan: ClusterPlan = {
      name: c.name,
      kind: c.key,
      libvirtUri: c.cfg.libvirt_uri ?? g.libvirt_uri ?? (env['LIBVIRT_DEFAULT_URI'] || DEFAULT_LIBVIRT_URI),
      acceleration,
      cpu: cpuPlan(hw, acceleration),
      memoryBacking: {
        hugepages: (perf?.enable_hugepages ?? false) || perf?.memory_backing === 'hugepages',
        hugepageSize: perf?.hugepage_size ?? '2M',
        memfd: perf?.memory_backing === 'memfd' || nodes.some((n) => n.pcie.length > 0 || n.virtiofs.length > 0),
      },
      network,
      nodes,
      storage: storagePlan(c),
      monitoring: monitoringPlan(c.cfg.monitoring, hasGpu),
      users: c.key === 'hpc' ? usersPlan(c.cfg as HpcCluster) : [],
    };
    if (c.key === 'hpc') {
      plan.slurm = slurmPlan(c.cfg as HpcCluster, loaded);
      const reg = (c.cfg as HpcCluster).container_registry;
      if (reg?.enabled) plan.registry = { port: reg.port ?? DEFAULT_REGISTRY_PORT, ...(reg.images ? { images: [...reg.images] } : {}) };
    } else {
      const k = (c.cfg as CloudCluster).kubernetes_config;
      plan.kubernetes = {
        cni: k.cni,
        ingress: k.ingress,
        storageClass: k.storage_class,
        packageRepo: k.package_repo ?? DEFAULT_K8S_REPO,
        version: k.version ?? DEFAULT_K8S_VERSION,
        podSubnet: k.pod_subnet ?? DEFAULT_POD_SUBNET,
        ...(k.cni_manifest ? { cniManifest: resolve(dirname(loaded.path), k.cni_manifest) } : {}),
        preloadImages: [...(k.preload_images ?? [])],
      };
    }
    return plan;
  });
  return { configPath: loaded.path, name: cfg.metadata.name, baseImage, clusters };
}
