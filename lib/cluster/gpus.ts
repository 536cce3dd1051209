/**
 * The machine-wide GPU record: one PCI function belongs to at most one running VM.
 */
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import { readGpuOwners, writeGpuOwners } from './state.js';
import { mdevInstances, type NodePlan } from '../model.js';
import { createMdevs, removeMdevs } from '../host/mdev.js';
import type { HostRoots } from '../host/sysfs.js';
import type { UndoStack } from './undo.js';

/** Refuse when another running VM owns one of this VM's PCI functions. */
export async function checkGpuOwnership(vm: string, pci: string[], stateRoot: string): Promise<void> {
  if (pci.length === 0) return;
  const owners = await readGpuOwners(stateRoot);
  for (const addr of pci) {
    const o = owners[addr];
    if (!o || o.vm === vm) continue;
    const st = await virsh.domain.state(o.uri, o.vm).catch(() => undefined);
    if (st === 'running' || st === 'paused') {
      throw new PharosError(`cannot start ${vm}: PCI device ${addr} is in use by running VM ${o.vm} (cluster ${o.cluster})`, {
        hint: `stop it first: pharos vm stop ${o.vm}`,
      });
    }
  }
}

export async function claimGpus(vm: string, cluster: string, uri: string, pci: string[], stateRoot: string): Promise<void> {
  if (pci.length === 0) return;
  const owners = await readGpuOwners(stateRoot);
  for (const addr of pci) owners[addr] = { vm, cluster, uri, since: new Date().toISOString() };
  await writeGpuOwners(stateRoot, owners);
}

export async function releaseGpus(stateRoot: string, match: { vm?: string; cluster?: string }): Promise<void> {
  const owners = await readGpuOwners(stateRoot);
  let changed = false;
  for (const [addr, o] of Object.entries(owners)) {
    if ((match.vm && o.vm === match.vm) || (match.cluster && o.cluster === match.cluster)) {
      delete owners[addr];
      changed = true;
    }
  }
  if (changed) await writeGpuOwners(stateRoot, owners);
}

/**
 * vGPU partitions: makes the node's mediated devices that do not exist yet
 * (before the domain that names them starts) and puts their removal on the
 * start's undo stack, so a start that fails leaves none it made. Returns the
 * UUIDs it made.
 */
export async function makeNodeMdevs(node: Pick<NodePlan, 'name' | 'partitions'>, undo: UndoStack, roots?: HostRoots): Promise<string[]> {
  const made = await createMdevs(mdevInstances(node), roots);
  for (const u of made.created) undo.push(`mdev ${u}`, () => removeMdevs([u], roots).then(() => undefined));
  return made.created;
}
