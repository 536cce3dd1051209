/**
 * The resolved cluster model: what a validated config *means* for the machine.
 *
 * `lib/config/plan.ts` turns a validated config into a `ClusterPlan`; everything
 * downstream (libvirt XML, networks, disks, inventory, Slurm files, images, the
 * graph in `pharos.build.ts`) reads this model and never the raw YAML. Keeping
 * one model means names, IPs, MACs and GPU assignments are derived exactly once.
 */

/** How a VM is accelerated: decided by the doctor's KVM probe when `auto`. */
export type Acceleration = 'kvm' | 'tcg';
export type AccelerationSetting = Acceleration | 'auto';

/** `nat`: libvirt NAT bridge, hosts reached by IP (the original behaviour).
 *  `user`: management NIC is QEMU user networking with SSH forwarded to
 *  127.0.0.1:PORT; cluster NIC on an isolated libvirt network. */
export type NetworkMode = 'nat' | 'user';

export type ClusterKind = 'hpc' | 'cloud';

export type NodeRole = 'controller' | 'compute' | 'control-plane' | 'cpu-worker' | 'gpu-worker';

/** Which image a node boots from. `hpc-controller`/`hpc-compute` are built by
 *  Pharos; `path` is a user-supplied qcow2 (`base_image_path` outside the build). */
export type ImageRef =
  | { kind: 'built'; name: 'base' | 'hpc-controller' | 'hpc-compute' | 'cloud-base' | 'cloud-gpu-worker' }
  | { kind: 'path'; path: string };

export interface PciDevicePlan {
  /** `DDDD:BB:SS.F`, lower case. */
  address: string;
  deviceType: 'gpu' | 'audio' | 'network' | 'storage' | 'other';
  vendorId: string;
  deviceId: string;
  iommuGroup?: number;
}

/** "Has a real GPU", decided here only: a passed-through PCI function whose
 *  type is `gpu` (its audio function and other devices are not GPUs; emulated
 *  GPUs are `NodePlan.emulatedGpus`, never here). */
export function isRealGpu(d: Pick<PciDevicePlan, 'deviceType'>): boolean {
  return d.deviceType === 'gpu';
}

/** A node's real GPUs (passed through), in config order. */
export function realGpus<D extends Pick<PciDevicePlan, 'deviceType'>>(n: { pcie: readonly D[] }): D[] {
  return n.pcie.filter(isRealGpu);
}

/** Whether any node of the cluster has a real GPU passed through. */
export function hasRealGpu(c: { nodes: readonly { pcie: readonly Pick<PciDevicePlan, 'deviceType'>[] }[] }): boolean {
  return c.nodes.some((n) => n.pcie.some(isRealGpu));
}

/** A part of a host GPU given to a node (`gpu_partitions`).
 *  - `mdev`: vGPU mediated devices made on the host from
 *    `/sys/class/mdev_bus/<parent>/mdev_supported_types/<mdevType>` (lib/host/mdev.ts),
 *    each a `<hostdev type='mdev'>` of the domain. MIG-backed vGPU types are mdev types too.
 *  - `mig`: MIG GPU instances of a GPU passed through whole to the same node
 *    (`pcie`); the guest makes them (`nvidia-smi mig -cgi <profile> -C`), so
 *    they add no hostdev, only Slurm GRES. */
export type GpuPartitionPlan =
  | { kind: 'mdev'; parent: string; mdevType: string; uuids: string[] }
  | { kind: 'mig'; parent: string; profile: string; count: number };

/** One mediated device of a node. */
export interface MdevInstance {
  parent: string;
  mdevType: string;
  uuid: string;
}

/** A node's mediated devices, in config order. */
export function mdevInstances(n: { partitions?: readonly GpuPartitionPlan[] }): MdevInstance[] {
  return (n.partitions ?? []).flatMap((p) => (p.kind === 'mdev' ? p.uuids.map((uuid) => ({ parent: p.parent, mdevType: p.mdevType, uuid })) : []));
}

export interface VirtiofsMountPlan {
  tag: string;
  hostPath: string;
  mountPoint: string;
  owner?: string;
  group?: string;
  mode?: string;
  options?: string;
  /** Create a missing `hostPath` before the domain is defined (config `create: true`). */
  create?: boolean;
  /** The config field of `hostPath`, for errors (`clusters.hpc.controller.virtio_fs_mounts[0].host_path`). */
  field?: string;
}

/** Whether a mount's options make it read-only (the last of `ro`/`rw` wins, as mount(8) reads them). */
export function virtiofsReadOnly(m: Pick<VirtiofsMountPlan, 'options'>): boolean {
  const flags = (m.options ?? '').split(',').filter((o) => o === 'ro' || o === 'rw');
  return flags[flags.length - 1] === 'ro';
}

export interface CpuPlan {
  /** `host-passthrough`, `host-model`, a named model such as `qemu64`, or `max` under TCG. */
  model: string;
  features: string[];
  topology?: { sockets: number; cores: number; threads: number };
  pinning: boolean;
  nested: boolean;
}

export interface MemoryBackingPlan {
  hugepages: boolean;
  hugepageSize: '2M' | '1G';
  /** memfd shared memory: required for virtiofs and used with passthrough. */
  memfd: boolean;
}

export interface NodePlan {
  /** Libvirt domain name: `<cluster>-controller`, `<cluster>-compute-01`, … */
  name: string;
  /** Short name inside the cluster and for Slurm: `controller`, `compute-01`, … */
  shortName: string;
  cluster: string;
  role: NodeRole;
  vcpus: number;
  memoryMiB: number;
  diskGb: number;
  /** Static address on the cluster network. */
  ip: string;
  /** Cluster NIC MAC: locally administered, unicast, derived from a hash of `name`. */
  mac: string;
  image: ImageRef;
  autoStart: boolean;
  pcie: PciDevicePlan[];
  virtiofs: VirtiofsMountPlan[];
  /** Emulated GPUs (GRES on fake device files) for machines without a real GPU. */
  emulatedGpus: number;
  /** GPU partitions (`gpu_partitions`); absent when the node has none. */
  partitions?: GpuPartitionPlan[];
  /** `user` network mode: the 127.0.0.1 port first offered to the VM's SSH
   *  forward (22200 + 100 × cluster index + node index). A VM that could not
   *  have it (busy) got another; the port in the cluster's state is the VM's
   *  real one (lib/cluster/access.ts). */
  sshPort?: number;
  /** `user` network mode: MAC of the QEMU user-networking management NIC
   *  (52:54:00 + three bytes of sha256(`<name>:mgmt`); the domain uses this one). */
  mgmtMac?: string;
}

export interface NetworkPlan {
  mode: NetworkMode;
  /** CIDR of the cluster network, e.g. `192.168.150.0/24`. */
  subnet: string;
  prefix: number;
  /** Gateway (subnet + 1) — the host address in `nat` mode only. */
  gateway: string;
  netmask: string;
  /** Libvirt network name: `<cluster>-network` (nat) or `<cluster>-cluster` (user). */
  libvirtName: string;
  bridge: string;
}

/** `kubernetes_config` defaults. */
export const DEFAULT_K8S_REPO = 'https://pkgs.k8s.io/core:/stable:/v1.30/deb/';
export const DEFAULT_K8S_VERSION = '1.30';
export const DEFAULT_POD_SUBNET = '10.244.0.0/16';

/** A cloud cluster's Kubernetes (`kubernetes_config`). kubeadm and kubelet come
 *  from the vendor repository; containerd and the node prerequisites from Debian. */
export interface KubernetesPlan {
  cni: string;
  ingress: string;
  storageClass: string;
  packageRepo: string;
  version: string;
  podSubnet: string;
  /** Absolute host path of the CNI manifest (resolved against the config's directory), if any. */
  cniManifest?: string;
  /** Container images (names under containers/) imported into containerd on every node. */
  preloadImages: string[];
}

/** `slurm_config.accounting` defaults: the account users are registered under
 *  and the seconds between samples of a running job. */
export const DEFAULT_ACCOUNT = 'pharos';
export const DEFAULT_JOBACCT_FREQUENCY = 30;

/** Slurm accounting (`slurm_config.accounting`; absent: off). The database
 *  (MariaDB on the controller) and its password are the role's, per cluster. */
export interface AccountingPlan {
  enabled: boolean;
  /** Account the configured users are registered under (default `pharos`). */
  defaultAccount: string;
  /** Seconds between samples of a running job (default 30). */
  jobAcctGatherFrequency: number;
}

/** One of the user's own prolog/epilog scripts, read when the plan is made
 *  (lib/config/scripts.ts), so a changed script changes the plan. */
export interface SlurmScriptPlan {
  /** File name on the node: `50-user-NN-<basename>` (only `[a-z0-9._-]`). */
  name: string;
  /** Absolute path on the host it was read from. */
  path: string;
  content: string;
}

export interface SlurmPlan {
  partitions: string[];
  defaultPartition: string;
  maxJobTime: string;
  accounting: AccountingPlan;
  prolog: SlurmScriptPlan[];
  epilog: SlurmScriptPlan[];
}

/** A user of the cluster (`clusters.hpc.users`), the same on every node. */
export interface UserPlan {
  name: string;
  uid: number;
  /** Primary group id; the group is named like the user (default: the uid). */
  gid: number;
  /** Supplementary groups. */
  groups: string[];
  /** OpenSSH public key lines from the config (the cluster key is added by the role). */
  sshKeys: string[];
  /** Login shell (default `/bin/bash`). */
  shell: string;
}

export interface StoragePlan {
  shared: 'nfs' | 'beegfs' | 'none';
  /** Where shared storage is mounted on every node. */
  mountPoint: string;
  beegfs?: {
    mountPoint: string;
    managementNode: string;
    metadataNodes: string[];
    storageNodes: string[];
    mountOptions: string;
    autoMount: boolean;
  };
  virtiofs: boolean;
}

export interface MonitoringPlan {
  prometheus: boolean;
  nodeExporter: boolean;
  grafana: boolean;
  dcgm: boolean;
}

/** The registry on the controller (`clusters.hpc.container_registry`; absent
 *  or `enabled: false`: none). Plain HTTP on the cluster network. */
export interface RegistryPlan {
  port: number;
  /** Container images (containers/<name>/) pushed to it; undefined: every one. */
  images?: string[];
}

export const DEFAULT_REGISTRY_PORT = 5000;

export interface ClusterPlan {
  name: string;
  kind: ClusterKind;
  /** Libvirt connection URI, e.g. `qemu:///system`. */
  libvirtUri: string;
  acceleration: AccelerationSetting;
  cpu: CpuPlan;
  memoryBacking: MemoryBackingPlan;
  network: NetworkPlan;
  nodes: NodePlan[];
  slurm?: SlurmPlan;
  /** Users made on every node (`clusters.hpc.users`); none for a cloud cluster. */
  users: UserPlan[];
  registry?: RegistryPlan;
  storage: StoragePlan;
  monitoring: MonitoringPlan;
  kubernetes?: KubernetesPlan;
}

export interface BaseImagePlan {
  source: 'mmdebstrap' | 'cloud-image';
  suite: string;
  mirror: string;
  packages: string[];
  url?: string;
  checksum?: string;
}

export interface SystemPlan {
  /** Absolute path of the config file the plan came from. */
  configPath: string;
  name: string;
  baseImage: BaseImagePlan;
  clusters: ClusterPlan[];
}
