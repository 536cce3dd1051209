/**
 * What the ai-how compatibility pass knows about keys Pharos's schema does not
 * have: per section, the keys ai-how wrote into its configs but never read
 * (ignored, with a warning that says why), and the keys that name a feature
 * Pharos does not have yet (ignored, with a warning that says so). A key in
 * neither table is left for the schema, which rejects it with "did you mean":
 * `cpu_core` and `memroy_gb` were never a key of either tool.
 */

const NEVER_READ = 'ai-how never read it';
const NAMES = 'ai-how never read it; Pharos names VMs `<cluster>-controller`, `<cluster>-compute-NN`, `<cluster>-cpu-worker-NN`';
const ROLE = 'ai-how never read it; a node\'s role follows from where it is listed';
/** A node's accounting keys (the controller's are mapped, compat-accounting.ts). */
const PER_CLUSTER = 'accounting is per cluster: `slurm_config.accounting: {enabled: true}`';
const DB = 'Pharos runs MariaDB on the controller with a database password generated per cluster (never in the config or an image)';

/** Reasons keyed by key name; a section lists the keys it knows. */
export type KeyTable = Readonly<Record<string, string>>;

/** Root sections of ai-how's test harness. */
export const ROOT_KEYS: KeyTable = {
  test: 'a section of ai-how\'s test harness, not of the cluster',
  test_settings: 'a section of ai-how\'s test harness, not of the cluster',
  test_config: 'a section of ai-how\'s test harness, not of the cluster',
  build: 'a section of ai-how\'s test harness, not of the cluster',
  timeouts: 'a section of ai-how\'s test harness, not of the cluster',
  logging: 'a section of ai-how\'s test harness, not of the cluster',
  containers: 'a section of ai-how\'s test harness, not of the cluster',
  dependencies: 'a section of ai-how\'s test harness, not of the cluster',
  validation: 'a section of ai-how\'s test harness, not of the cluster',
  networks: 'ai-how never read a root `networks`; each cluster has its own `network: {subnet, bridge}`',
};

const CLUSTER_COMMON: KeyTable = {
  description: NEVER_READ,
  ssh: 'ai-how never read it; Pharos makes its own SSH key per cluster and logs in as root',
};

export const HPC_KEYS: KeyTable = {
  ...CLUSTER_COMMON,
  gres_config: 'ai-how never read it; Pharos writes gres.conf from each node\'s GPUs (pcie_passthrough, emulated_gpus)',
};

/** ai-how's `container_registry` synced Apptainer images to a directory; Pharos runs a registry. */
export const REGISTRY_KEYS: KeyTable = {
  base_path: 'Pharos keeps images in an OCI registry on the controller (its storage under /var/lib/docker-registry), not in a synced directory',
  sync_method: 'Pharos pushes images to the registry with skopeo when it builds, nothing is synced',
  subdirectories: 'images are named by their containers/<name>/ directory in the registry, not sorted into subdirectories',
};

export const CLOUD_KEYS: KeyTable = {
  ...CLUSTER_COMMON,
  storage: 'ai-how never read a cloud cluster\'s storage',
};

export const NETWORK_KEYS: KeyTable = {
  name: 'ai-how never read it; Pharos names the network `<cluster>-network`',
  gateway: 'ai-how never read it; the gateway is always subnet+1',
  dhcp_range: 'ai-how never read it; Pharos gives every VM a fixed address',
  dns_servers: NEVER_READ,
};

/** `storage.pool_*` (pool_name, pool_path, …): Pharos names the pool `<cluster>-pool`. */
export const STORAGE_PREFIX = 'pool_';
export const STORAGE_PREFIX_REASON = 'ai-how never read it; Pharos names the storage pool `<cluster>-pool`';

export const SLURM_KEYS: KeyTable = {
  gres_types: 'ai-how never read it; Pharos always sets GresTypes=gpu',
  container_plugin_enabled: 'Slurm\'s OCI container support (oci.conf, rootless crun) is always on the compute nodes: `srun --container=BUNDLE`',
  // accounting, enable_accounting, accounting_storage_type, job_acct_gather_type
  // and slurmdbd are mapped or dropped by compat-accounting.ts.
};

export const NODE_KEYS: KeyTable = {
  name: NAMES,
  hostname: NAMES,
  node_type: ROLE,
  worker_type: ROLE,
  monitoring_role: 'ai-how never read it; monitoring is set per cluster (`monitoring`)',
  gpu: 'ai-how never read it; GPUs are `pcie_passthrough` devices, `gpu_partitions` (vGPU, MIG) or `emulated_gpus`',
  container_runtime: 'every compute node runs OCI containers under Slurm (crun, `srun --container=BUNDLE`); Apptainer is an image-time option (pharos_apptainer)',
  enable_accounting: PER_CLUSTER,
  enable_database: DB,
  database: DB,
  slurm_accounting: PER_CLUSTER,
  munge: 'ai-how never read it; Pharos always sets up munge with one key per cluster',
};

export const DEVICE_KEYS: KeyTable = {
  vendor: 'ai-how never read it; `vendor_id` is the vendor',
  description: NEVER_READ,
};

/** Grouped cloud worker lists: ai-how's schema form from 2025-08-12 to 2025-10-31. */
export const WORKER_GROUPS: readonly string[] = ['cpu', 'gpu', 'cpu_workers', 'gpu_workers'];

export const DEFAULT_PARTITION = 'debug';
export const DEFAULT_KUBERNETES = { cni: 'calico', ingress: 'nginx', storage_class: 'local-path' } as const;
