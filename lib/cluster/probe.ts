/**
 * Everything the cluster's targets need to decide "up to date?", in one virsh call.
 */
import { readFile } from 'node:fs/promises';
import type { ClusterPlan } from '../model.js';
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
  /** Defined with the wanted spec, disk present, running when auto_start (and on that definition). */
  upToDate: boolean;
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
    const running = p.state === 'running';
    const upToDate =
      p.exists && wantHash !== undefined && p.specHash === wantHash && diskExists && (!node.autoStart || (running && p.liveSpecHash === wantHash));
    vms.set(node.name, { ...p, wantHash, diskExists, upToDate });
  }
  const n = r.networks.get(netName) ?? { exists: false, active: false };
  const pl = r.pools.get(pName) ?? { exists: false, active: false };
  return { network: { name: netName, ...n }, pool: { name: pName, ...pl }, vms };
}
