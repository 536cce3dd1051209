/**
 * THE freshness rule of a VM (`vmFreshness`), which the `vm:<name>` target's
 * probe (tasks/vms.ts) and `probeCluster` both apply, and `probeCluster`:
 * everything the cluster's targets need to decide "up to date?", in one virsh call.
 */
import { readFile } from 'node:fs/promises';
import type { ClusterPlan, NodePlan } from '../model.js';
import { specHash } from '../libvirt/domain.js';
import { poolName } from '../libvirt/pool.js';
import { probeDomains, type DomainProbe } from '../libvirt/probe.js';
import { readState } from './state.js';
import { diskPath } from './disk.js';
import { buildDomainSpec } from './domain.js';
import type { ClusterEnv, NodeImage } from './env.js';
import { exists } from './undo.js';

export interface VmProbe extends DomainProbe {
  /** Hash of the spec the plan wants now (undefined when it cannot be known yet). */
  wantHash?: string;
  diskExists: boolean;
  /** `vmFreshness` against the spec the plan wants now and the recorded UUID. */
  upToDate: boolean;
  /** Why it is not up to date (undefined when it is). */
  stale?: string;
}

/** What a VM was last made as: its spec hash and domain UUID (unknown ones are not compared). */
export interface BuiltVm {
  specHash?: string;
  uuid?: string;
}

/**
 * Whether a VM is still what was built: true, or why not (the build log's
 * reason for converging it again). Its domain exists, is the one built (same
 * UUID, when both are known), carries the built spec hash, runs when
 * `autoStart`, and its disk exists.
 */
export function vmFreshness(node: Pick<NodePlan, 'name' | 'autoStart'>, d: DomainProbe | undefined, built: BuiltVm, diskExists: boolean): true | string {
  if (!d?.exists) return `domain ${node.name} is gone`;
  if (d.uuid && built.uuid && d.uuid !== built.uuid) return `domain ${node.name} was recreated outside Pharos`;
  if (d.specHash !== built.specHash) return `domain ${node.name} definition differs from what was built`;
  if (node.autoStart && d.state !== 'running') return `domain ${node.name} is ${d.state ?? 'not running'}`;
  if (!diskExists) return `disk of ${node.name} is gone`;
  return true;
}

export interface ClusterProbe {
  network: { name: string; exists: boolean; active: boolean };
  pool: { name: string; exists: boolean; active: boolean };
  vms: Map<string, VmProbe>;
}

/**
 * Everything the cluster's targets need to decide "up to date?", in ONE virsh
 * call plus a few `stat`s: domains (state, persistent and live spec hash),
 * network and pool. Nothing is created or allocated here: a VM whose SSH port
 * or cluster key does not exist yet is simply not up to date.
 */
export async function probeCluster(plan: ClusterPlan, images: Record<string, NodeImage>, env: ClusterEnv): Promise<ClusterProbe> {
  const netName = plan.network.libvirtName;
  const pName = poolName(plan.name);
  const r = await probeDomains(env.uri, plan.nodes.map((n) => n.name), { networks: [netName], pools: [pName] });
  const state = await readState(env.paths.stateFile);
  const pub = await readFile(env.paths.publicKey, 'utf8').then((t) => t.trim(), () => undefined);
  const vms = new Map<string, VmProbe>();
  for (const node of plan.nodes) {
    const p = r.domains.get(node.name) ?? { exists: false };
    const disk = diskPath(env, node);
    const diskExists = await exists(disk);
    const image = images[node.name];
    const port = state?.vms[node.name]?.sshPort;
    let wantHash: string | undefined;
    if (pub && image && (plan.network.mode === 'nat' || port !== undefined)) {
      wantHash = specHash(buildDomainSpec(plan, env, { node, image, disk, sshPort: port, authorizedKey: pub }));
    }
    const fresh = wantHash === undefined ? `the spec of ${node.name} cannot be known yet (no SSH port or cluster key)` : vmFreshness(node, p, { specHash: wantHash, uuid: state?.vms[node.name]?.uuid }, diskExists);
    vms.set(node.name, { ...p, wantHash, diskExists, upToDate: fresh === true, stale: fresh === true ? undefined : fresh });
  }
  const n = r.networks.get(netName) ?? { exists: false, active: false };
  const pl = r.pools.get(pName) ?? { exists: false, active: false };
  return { network: { name: netName, ...n }, pool: { name: pName, ...pl }, vms };
}
