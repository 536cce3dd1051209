/**
 * Where Ansible reaches each node, read from the cluster's state (written when
 * the VMs were created: forwarded ports in `user` mode) and its identity files
 * (per-cluster key, pinned known_hosts).
 */
import type { ClusterState } from '../cluster/state.js';
import type { ClusterPaths } from '../cluster/paths.js';
import type { InventoryAccess, NodeAccess } from './index.js';

export function accessFromState(
  state: ClusterState | undefined,
  paths: Pick<ClusterPaths, 'privateKey' | 'knownHosts'>,
  user = 'root',
): InventoryAccess {
  const nodes = new Map<string, NodeAccess>();
  for (const vm of Object.values(state?.vms ?? {})) nodes.set(vm.name, { host: vm.sshHost, port: vm.sshPort });
  return { nodes, user, keyFile: paths.privateKey, knownHostsFile: paths.knownHosts };
}
