/**
 * The SSH forward ports of a cluster's VMs (`user` networking), for both ways a
 * VM is brought up: the `vm:<name>` target (tasks/vms.ts, one node at a time)
 * and `startCluster` (all nodes at once). The policy itself is
 * `allocatePorts` (lib/libvirt/alloc.ts); this reads what it needs from the
 * clusters' state: each node's recorded port, and every port other VMs hold.
 */
import type { NodePlan } from '../model.js';
import { allocatePorts } from '../libvirt/alloc.js';
import { listStates, readState } from './state.js';
import type { ClusterEnv } from './env.js';

/**
 * Ports for `nodes` of the cluster `env` is for. `previous`: the port a node's
 * last build gave it, used when its cluster's state records none.
 */
export async function sshPorts(
  nodes: readonly Pick<NodePlan, 'name' | 'sshPort'>[],
  env: Pick<ClusterEnv, 'paths' | 'stateRoot'>,
  previous: ReadonlyMap<string, number | undefined> = new Map(),
): Promise<Map<string, number>> {
  const state = await readState(env.paths.stateFile);
  const names = new Set(nodes.map((n) => n.name));
  const taken = new Set<number>();
  for (const s of await listStates(env.stateRoot)) {
    for (const v of Object.values(s.vms)) if (!names.has(v.name)) taken.add(v.sshPort);
  }
  return allocatePorts(
    nodes.map((n) => ({ vm: n.name, recorded: state?.vms[n.name]?.sshPort ?? previous.get(n.name), planned: n.sshPort })),
    taken,
  );
}

/** One node's port (the `vm:<name>` target). */
export async function sshPortFor(node: Pick<NodePlan, 'name' | 'sshPort'>, env: Pick<ClusterEnv, 'paths' | 'stateRoot'>, previous?: number): Promise<number> {
  return (await sshPorts([node], env, new Map([[node.name, previous]]))).get(node.name)!;
}
