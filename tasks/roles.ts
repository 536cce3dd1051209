/**
 * The deploy-role catalogue: every Ansible role a cluster deploy runs, the
 * inventory hosts it applies to, what it must run after, which clusters use it
 * and which suites check it. `deploy:<role>` targets (tasks/deploy.ts) are made
 * from it, and ansible/playbooks/playbook-hpc-runtime.yml runs the same roles
 * in the same order on the same hosts (tests/unit/ansible/roles.test.ts).
 */
import { hasRealGpu, type ClusterPlan } from '../lib/model.js';
import {
  DEPLOY_ROLE_PLAYBOOK,
  deployStrategy,
  runPlaybook,
  type ExtraVarValue,
  type PlaybookResult,
  type RunPlaybookOptions,
} from '../lib/tools/ansible.js';

export interface RoleSpec {
  /** Role directory under `ansible/roles/`. */
  role: string;
  /** Inventory host pattern the role applies to. */
  hosts: string;
  /** Roles that must run first (those absent for a cluster are skipped over). */
  after: string[];
  /** Roles pulled in through meta/main.yml dependencies. */
  uses?: string[];
  /** Groups beyond `hosts` that its tasks reach through `delegate_to`: the
   *  deploy holds those hosts too, so no other deploy runs there meanwhile. */
  reaches?: string[];
  /** Suites that check what the role sets up: `pharos watch deploy:<role>`
   *  re-runs them after the role. */
  suites: string[];
  when: (c: ClusterPlan) => boolean;
}

export interface DeployRole {
  /** Role directory under `ansible/roles/`; the target is `deploy:<role>`. */
  role: string;
  /** Inventory host pattern the role applies to. */
  hosts: string;
  /** Roles that must have been deployed first (only those present in the list). */
  after: string[];
  /** Inventory groups whose hosts the deploy touches (`hosts` first): deploys
   *  with disjoint hosts may run at once, others take turns (tasks/host-locks.ts). */
  touches: string[];
  /** Files whose content shapes the role (globs relative to the repository root). */
  inputs: string[];
  suites: string[];
  /** How to run it: the generic one-role playbook with these extra vars. */
  playbook: string;
  extraVars: { pharos_role: string; pharos_hosts: string };
}

const beegfs = (c: ClusterPlan): boolean => c.storage.shared === 'beegfs' && c.storage.beegfs !== undefined;
const nfs = (c: ClusterPlan): boolean => c.storage.shared === 'nfs';
const hpc = (c: ClusterPlan): boolean => c.kind === 'hpc';
const cloud = (c: ClusterPlan): boolean => c.kind === 'cloud';
const accounting = (c: ClusterPlan): boolean => c.slurm?.accounting.enabled === true;
/** A controller-only cluster (compute_nodes: []) gets no compute-side role. */
const computes = (c: ClusterPlan): boolean => hpc(c) && c.nodes.some((n) => n.role === 'compute');

/**
 * Every deploy role, in run order (each `after` names an earlier entry).
 * slurm-compute comes after the shared-storage clients and the GPU driver:
 * slurmd stats every `File=` of gres.conf at start and exits when /dev/nvidiaN
 * is missing, and the role resumes the node, so jobs may land on it at once and
 * must find /shared mounted.
 */
export const ROLE_CATALOGUE: readonly RoleSpec[] = [
  { role: 'base', hosts: 'hpc', after: [], suites: ['basic-infrastructure'], when: hpc },
  { role: 'virtio-fs', hosts: 'hpc', after: ['base'], suites: ['virtio-fs'], when: (c) => hpc(c) && c.nodes.some((n) => n.virtiofs.length > 0) },
  { role: 'munge', hosts: 'hpc', after: ['base'], suites: ['slurm-controller'], when: hpc },
  { role: 'nfs-server', hosts: 'hpc_controllers', after: ['base'], suites: ['shared-storage'], when: (c) => hpc(c) && nfs(c) },
  // slurmdbd must know the cluster before slurmctld registers with it.
  { role: 'slurm-accounting', hosts: 'hpc_controllers', after: ['munge'], suites: ['accounting'], when: (c) => hpc(c) && accounting(c) },
  { role: 'slurm-controller', hosts: 'hpc_controllers', after: ['munge', 'slurm-accounting'], uses: ['slurm-common'], suites: ['slurm-controller'], when: hpc },
  { role: 'nfs-client', hosts: 'hpc_compute_nodes', after: ['nfs-server'], suites: ['shared-storage'], when: (c) => computes(c) && nfs(c) },
  // beegfs-common makes and reads the connection secret on the management node.
  { role: 'beegfs-mgmt', hosts: 'beegfs_mgmt', after: ['base'], uses: ['beegfs-common'], reaches: ['beegfs_mgmt'], suites: [], when: (c) => hpc(c) && beegfs(c) },
  { role: 'beegfs-meta', hosts: 'beegfs_meta', after: ['beegfs-mgmt'], uses: ['beegfs-common'], reaches: ['beegfs_mgmt'], suites: [], when: (c) => hpc(c) && beegfs(c) },
  { role: 'beegfs-storage', hosts: 'beegfs_storage', after: ['beegfs-meta'], uses: ['beegfs-common'], reaches: ['beegfs_mgmt'], suites: [], when: (c) => hpc(c) && beegfs(c) },
  { role: 'beegfs-client', hosts: 'beegfs_clients', after: ['beegfs-storage'], uses: ['beegfs-common'], reaches: ['beegfs_mgmt'], suites: [], when: (c) => hpc(c) && beegfs(c) },
  // Homes live on the shared storage: its server and clients come first.
  { role: 'users', hosts: 'hpc', after: ['nfs-server', 'nfs-client', 'beegfs-client'], suites: ['users'], when: (c) => hpc(c) && c.users.length > 0 },
  { role: 'nvidia-gpu-drivers', hosts: 'hpc_gpu_nodes', after: ['base'], suites: [], when: (c) => hpc(c) && hasRealGpu(c) },
  // slurm.conf names prolog.d/epilog.d and the health check: they exist before slurmd reads it.
  { role: 'slurm-job-scripts', hosts: 'hpc_compute_nodes', after: ['nfs-client', 'beegfs-client'], suites: ['job-scripts'], when: computes },
  // OpenMPI's site parameters (cluster network only) are in place before slurmd takes jobs.
  { role: 'mpi', hosts: 'hpc_compute_nodes', after: ['base'], suites: ['mpi'], when: computes },
  // The registry on the controller (plain HTTP on the cluster network): `pharos build` pushes the container images to it.
  { role: 'container-registry', hosts: 'hpc_controllers', after: ['base'], suites: ['containers', 'distributed-training'], when: (c) => hpc(c) && c.registry !== undefined },
  // oci.conf is in place before slurmd starts (it reads it then); pharos-bundle on every node.
  { role: 'container-runtime', hosts: 'hpc', after: ['base'], suites: ['containers', 'distributed-training'], when: computes },
  {
    role: 'slurm-compute',
    hosts: 'hpc_compute_nodes',
    after: ['munge', 'slurm-controller', 'nfs-client', 'beegfs-client', 'users', 'nvidia-gpu-drivers', 'slurm-job-scripts', 'mpi', 'container-runtime'],
    uses: ['slurm-common'],
    suites: ['slurm-compute', 'gres', 'cgroup-isolation'],
    when: computes,
  },
  { role: 'monitoring', hosts: 'hpc', after: ['base'], suites: ['monitoring'], when: hpc },
  // The cloud cluster: Kubernetes-ready nodes (containerd, modules, sysctls,
  // names, time), then kubeadm/kubelet from the vendor repository.
  { role: 'cloud-node', hosts: 'k8s_cluster', after: [], suites: ['cloud-nodes'], when: cloud },
  // The join command is made on the control plane, the workers are labelled from it.
  { role: 'kubernetes', hosts: 'k8s_cluster', after: ['cloud-node'], reaches: ['kube_control_plane'], suites: ['kubernetes'], when: cloud },
];

/** Inputs every deploy shares: the settings and the generic playbook. */
const COMMON_INPUTS = ['ansible/ansible.cfg', 'ansible/playbooks/deploy-role.yml'];

/** The deploy roles for one cluster. */
export function deployRoles(cluster: ClusterPlan): DeployRole[] {
  const present = ROLE_CATALOGUE.filter((r) => r.when(cluster));
  const names = new Set(present.map((r) => r.role));
  const byName = new Map(ROLE_CATALOGUE.map((r) => [r.role, r]));
  // An absent role's own predecessors are inherited, so dropping nfs-client
  // still leaves slurm-compute after nfs-server's predecessors.
  const effectiveAfter = (deps: string[], seen = new Set<string>()): string[] => {
    const out: string[] = [];
    for (const d of deps) {
      if (seen.has(d)) continue;
      seen.add(d);
      if (names.has(d)) out.push(d);
      else out.push(...effectiveAfter(byName.get(d)?.after ?? [], seen));
    }
    return [...new Set(out)];
  };
  const direct = new Map(present.map((r) => [r.role, effectiveAfter(r.after)]));
  const ancestors = (role: string, acc = new Set<string>()): Set<string> => {
    for (const d of direct.get(role) ?? []) if (!acc.has(d)) ancestors(d, acc.add(d));
    return acc;
  };
  // Keep only edges not implied by another one (base is already before munge).
  const reduced = (role: string): string[] => {
    const deps = direct.get(role) ?? [];
    return deps.filter((d) => !deps.some((o) => o !== d && ancestors(o).has(d)));
  };
  return present.map((r) => ({
    role: r.role,
    hosts: r.hosts,
    after: reduced(r.role),
    touches: [r.hosts, ...(r.reaches ?? [])],
    inputs: [r.role, ...(r.uses ?? [])].map((x) => `ansible/roles/${x}/**`).concat(COMMON_INPUTS),
    suites: [...r.suites],
    playbook: DEPLOY_ROLE_PLAYBOOK,
    extraVars: { pharos_role: r.role, pharos_hosts: r.hosts },
  }));
}

/** Runs one deploy role on its hosts. */
export function runDeployRole(
  role: DeployRole,
  opts: Omit<RunPlaybookOptions, 'playbook' | 'extraVars'> & { extraVars?: Record<string, ExtraVarValue> },
): Promise<PlaybookResult> {
  const base = opts.env ?? process.env;
  return runPlaybook({ ...opts, env: { ...base, ...deployStrategy(base).env }, playbook: role.playbook, extraVars: { ...opts.extraVars, ...role.extraVars } });
}
