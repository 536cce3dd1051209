/**
 * How to reach a node over SSH, decided here once; the VM code, the Ansible
 * inventory, `pharos ssh`/`ssh-config`, the suites and the test verbs read it.
 *
 * - Endpoint (`endpointFor`): `user` networking → 127.0.0.1 and the VM's
 *   forwarded port; `nat` → the node's cluster IP and port 22.
 * - Which port is authoritative: the one recorded in the cluster's state
 *   (`VmRecord.sshPort`, written by `convergeVm` when the VM is made). The
 *   plan's `NodePlan.sshPort` is only the port a new VM is first offered; a
 *   busy one is replaced then, and a VM keeps its recorded port afterwards.
 *   So everything that talks to a VM reads its access from state (`accessOf`,
 *   `accessFromState`), never from the plan.
 * - Host key: pinned in the cluster's known_hosts under the endpoint and the
 *   VM's name (lib/ssh/known-hosts.ts `pinPatterns`), so a client may check it
 *   under the name whatever the endpoint (`HostKeyAlias`; the suites' default).
 * - Identity: the cluster's own key pair and known_hosts (`ClusterPaths`).
 */
import { readFileSync } from 'node:fs';
import type { NetworkMode, NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import type { ClusterState, VmRecord } from './state.js';
import type { ClusterPaths } from './paths.js';

/** Where SSH reaches one node. */
export interface NodeAccess {
  host: string;
  port: number;
  /** Name the host key is pinned under besides `[host]:port` (readers default it to the node's domain name). */
  hostAlias?: string;
  username?: string;
}

/** How to reach every node of one cluster, and as whom. */
export interface SshAccess {
  /** Keyed by `NodePlan.name` (the VM's domain name). */
  nodes: Map<string, NodeAccess>;
  user: string;
  keyFile: string;
  knownHostsFile: string;
  /** The cluster key's public line (`keyFile` + `.pub`), which the roles
   *  authorize for every configured user; absent before the key is made. */
  publicKey?: string;
}

/** The endpoint a VM of a cluster in `mode` is given (`sshPort`: the forward
 *  allocated for it in `user` mode). */
export function endpointFor(mode: NetworkMode, node: Pick<NodePlan, 'name' | 'ip'>, sshPort?: number): NodeAccess {
  if (mode === 'nat') return { host: node.ip, port: 22 };
  if (sshPort === undefined) throw new PharosError(`no SSH port allocated for ${node.name}`);
  return { host: '127.0.0.1', port: sshPort };
}

/** Where a VM is reached, from its record in the cluster's state. */
export function accessOf(vm: Pick<VmRecord, 'sshHost' | 'sshPort'>): NodeAccess {
  return { host: vm.sshHost, port: vm.sshPort };
}

/** Every VM of `state` (none without state), with the cluster's key and pinned known_hosts. */
export function accessFromState(
  state: ClusterState | undefined,
  paths: Pick<ClusterPaths, 'privateKey' | 'knownHosts'> & Partial<Pick<ClusterPaths, 'publicKey'>>,
  user = 'root',
): SshAccess {
  const nodes = new Map<string, NodeAccess>();
  for (const vm of Object.values(state?.vms ?? {})) nodes.set(vm.name, accessOf(vm));
  const access: SshAccess = { nodes, user, keyFile: paths.privateKey, knownHostsFile: paths.knownHosts };
  const pub = paths.publicKey === undefined ? undefined : readPublicKey(paths.publicKey);
  if (pub !== undefined) access.publicKey = pub;
  return access;
}

/** The first line of a public key file, or undefined when there is none yet. */
export function readPublicKey(file: string): string | undefined {
  try {
    const line = readFileSync(file, 'utf8').split('\n')[0]!.trim();
    return line === '' ? undefined : line;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PharosError(`cannot read the cluster's public key ${file}: ${(e as Error).message}`, { hint: 'pharos build ssh:CLUSTER makes the key pair again' });
  }
}
