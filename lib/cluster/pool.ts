/**
 * A cluster's storage pool (a `dir` pool over its overlay directory); never
 * adopted when Pharos did not create it.
 */
import { mkdir, chmod } from 'node:fs/promises';
import type { ClusterPlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import { poolName, poolXml } from '../libvirt/pool.js';
import { recordObject, recordsObject, readState } from './state.js';
import { claimCluster } from './owners.js';
import { type ClusterEnv, type EnsureResult, ownerEnv } from './env.js';
import { exists, ignoreNotFound } from './undo.js';

export async function removePool(uri: string, name: string): Promise<void> {
  const active = await virsh.pool.isActive(uri, name);
  if (active === undefined) return;
  if (active) await ignoreNotFound(virsh.pool.destroy(uri, name));
  await ignoreNotFound(virsh.pool.undefine(uri, name));
}

export async function ensurePool(plan: ClusterPlan, env: ClusterEnv): Promise<EnsureResult & { dir: string; createdDir: boolean }> {
  const name = poolName(plan.name);
  await claimCluster(ownerEnv(plan.name, env), 'changing');
  const dir = env.paths.poolDir;
  const active = await virsh.pool.isActive(env.uri, name);
  if (active !== undefined && !recordsObject(await readState(env.paths.stateFile), 'pool', name)) {
    // Not ours by the record: a pool on our own directory is adopted, any other is left alone.
    const path = /<path>([^<]*)<\/path>/.exec(await virsh.pool.dumpxml(env.uri, name))?.[1];
    if (path !== dir) {
      throw new PharosError(`storage pool ${name} exists (at ${path ?? 'an unknown path'}), and cluster ${plan.name}'s state does not record it: it was not created by pharos`, {
        hint: `pharos changes nothing it did not create: remove or rename it yourself (virsh -c ${env.uri} pool-undefine ${name}), or choose another cluster name`,
      });
    }
  }
  const createdDir = !(await exists(dir));
  await mkdir(dir, { recursive: true });
  // QEMU (libvirt-qemu under qemu:///system) must traverse to the overlays.
  await chmod(dir, 0o711);
  await mkdir(env.paths.consoleDir, { recursive: true, mode: 0o700 });
  await recordObject(plan, env, 'pool', name);
  if (active === undefined) {
    await virsh.pool.define(env.uri, poolXml(name, dir));
    await virsh.pool.start(env.uri, name);
    return { action: 'created', message: `pool ${name} created at ${dir}`, dir, createdDir };
  }
  if (!active) {
    await virsh.pool.start(env.uri, name);
    return { action: 'started', message: `pool ${name} started`, dir, createdDir };
  }
  return { action: 'unchanged', message: `pool ${name} up to date`, dir, createdDir };
}
