/** The hpc group variables of users, accounting and the user's own job
 *  scripts: what the roles make on every node, all from the plan. */
import { DEFAULT_ACCOUNT, DEFAULT_JOBACCT_FREQUENCY, type ClusterPlan } from '../model.js';
import type { InventoryAccess, InventoryVars } from './types.js';

const NO_ACCOUNTING = { enabled: false, defaultAccount: DEFAULT_ACCOUNT, jobAcctGatherFrequency: DEFAULT_JOBACCT_FREQUENCY };

/**
 * - `pharos_users`: `{name, uid, gid, groups, ssh_keys, shell}` per configured
 *   user ([] when none).
 * - `pharos_cluster_public_key`: the cluster's own public key line, which the
 *   role authorizes for every user, so `pharos ssh -l USER NODE` works with no
 *   key in the config ('' when the key is not made yet: `pharos inventory`
 *   before the first build).
 * - `slurm_accounting_enabled`, `slurm_accounting_account`,
 *   `slurm_jobacct_gather_frequency`.
 * - `slurm_user_prolog`, `slurm_user_epilog`: `{name, content}` per script,
 *   content read when the plan was made; it is in inventory.yml, whose digest
 *   is part of every deploy's key, so a changed script re-runs the deploy.
 */
export function jobVars(cluster: ClusterPlan, access: InventoryAccess): InventoryVars {
  const acc = cluster.slurm?.accounting ?? NO_ACCOUNTING;
  return {
    pharos_users: cluster.users.map((u) => ({ name: u.name, uid: u.uid, gid: u.gid, groups: [...u.groups], ssh_keys: [...u.sshKeys], shell: u.shell })),
    pharos_cluster_public_key: access.publicKey ?? '',
    slurm_accounting_enabled: acc.enabled,
    slurm_accounting_account: acc.defaultAccount,
    slurm_jobacct_gather_frequency: acc.jobAcctGatherFrequency,
    slurm_user_prolog: (cluster.slurm?.prolog ?? []).map((s) => ({ name: s.name, content: s.content })),
    slurm_user_epilog: (cluster.slurm?.epilog ?? []).map((s) => ({ name: s.name, content: s.content })),
  };
}
