/**
 * A cluster's libvirt network: created, redefined when its addresses, bridge or
 * hosts changed, started; never adopted when Pharos did not create it.
 */
import type { ClusterPlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import { networkXml, networkFingerprint } from '../libvirt/network.js';
import { recordObject, recordsObject, readState } from './state.js';
import { claimCluster } from './owners.js';
import { type ClusterEnv, type EnsureResult, ownerEnv } from './env.js';
import { ignoreNotFound } from './undo.js';

export async function removeNetwork(uri: string, name: string): Promise<void> {
  const active = await virsh.network.isActive(uri, name);
  if (active === undefined) return;
  if (active) await ignoreNotFound(virsh.network.destroy(uri, name));
  await ignoreNotFound(virsh.network.undefine(uri, name));
}

export async function ensureNetwork(plan: ClusterPlan, env: ClusterEnv): Promise<EnsureResult> {
  const name = plan.network.libvirtName;
  await claimCluster(ownerEnv(plan.name, env), 'changing');
  const want = networkXml(plan);
  const active = await virsh.network.isActive(env.uri, name);
  if (active === undefined) {
    await virsh.network.define(env.uri, want);
    try {
      // Recorded before anything else can fail: destroy removes what state records.
      await recordObject(plan, env, 'network', name);
      await virsh.network.start(env.uri, name);
      await virsh.network.autostart(env.uri, name);
    } catch (e) {
      await ignoreNotFound(virsh.network.undefine(env.uri, name));
      throw e;
    }
    return { action: 'created', message: `network ${name} created (${plan.network.mode}, bridge ${plan.network.bridge})` };
  }
  const have = await virsh.network.dumpxml(env.uri, name);
  if (!recordsObject(await readState(env.paths.stateFile), 'network', name)) {
    // Not ours by the record: identical to what we would define is adopted
    // (changing nothing); anything else is someone else's and left alone.
    if (networkFingerprint(have) !== networkFingerprint(want)) {
      throw new PharosError(`network ${name} exists, and cluster ${plan.name}'s state does not record it: it was not created by pharos`, {
        hint: `pharos changes nothing it did not create: remove or rename it yourself (virsh -c ${env.uri} net-undefine ${name}), or choose another cluster name`,
      });
    }
    await recordObject(plan, env, 'network', name);
  }
  if (networkFingerprint(have) !== networkFingerprint(want)) {
    // Redefining an active network detaches running guests' NICs; the caller's
    // VMs are restarted by their own targets when their spec changed too.
    if (active) await virsh.network.destroy(env.uri, name);
    await virsh.network.undefine(env.uri, name);
    await virsh.network.define(env.uri, want);
    await virsh.network.start(env.uri, name);
    await virsh.network.autostart(env.uri, name);
    return { action: 'redefined', message: `network ${name} redefined (its addresses, bridge or hosts changed)` };
  }
  if (!active) {
    await virsh.network.start(env.uri, name);
    return { action: 'started', message: `network ${name} started` };
  }
  return { action: 'unchanged', message: `network ${name} up to date` };
}
