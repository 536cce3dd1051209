/**
 * A VM's qcow2 overlay on its image: created, grown, recreated on a new image.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import * as virsh from '../tools/virsh.js';
import * as qemuImg from '../tools/qemu-img.js';
import { poolName } from '../libvirt/pool.js';
import type { Action, ClusterEnv, EnsureResult } from './env.js';
import { exists, ignoreNotFound } from './undo.js';

export function diskPath(env: ClusterEnv, node: Pick<NodePlan, 'name'>): string {
  return join(env.paths.poolDir, `${node.name}.qcow2`);
}

/** Whether the VM's overlay exists on a different backing file than `baseImage`. */
export async function diskNeedsRecreate(node: Pick<NodePlan, 'name'>, baseImage: string, env: ClusterEnv): Promise<boolean> {
  const path = diskPath(env, node);
  if (!(await exists(path))) return false;
  return (await qemuImg.info(path)).backingFilename !== baseImage;
}

/**
 * The VM's overlay on its image: `diskGb` GiB, but never smaller than the
 * image's own virtual size (a guest whose disk is smaller than the filesystem
 * on it fails to boot or corrupts it), so the size is max(disk_gb, image size).
 * An overlay on a different backing file is recreated: the image changed, so the
 * VM must boot the new one (its disk contents are derived, not user data).
 */
export async function ensureDisk(node: Pick<NodePlan, 'name' | 'diskGb'>, baseImage: string, env: ClusterEnv): Promise<EnsureResult & { path: string; sizeBytes: number }> {
  const path = diskPath(env, node);
  if (!(await exists(baseImage))) {
    throw new PharosError(`image for ${node.name} not found: ${baseImage}`, { hint: 'build the image first (pharos build image:…)' });
  }
  const baseSize = (await qemuImg.info(baseImage)).virtualSize;
  const size = Math.max(node.diskGb * 1024 ** 3, baseSize);
  const sizeText = size === node.diskGb * 1024 ** 3 ? `${node.diskGb} GiB` : `${gib(size)} GiB (the image's size; disk_gb is ${node.diskGb})`;
  let action: Action = 'created';
  if (await exists(path)) {
    const info = await qemuImg.info(path);
    if (info.backingFilename === baseImage) {
      if (info.virtualSize < size) {
        try {
          await qemuImg.grow(path, size);
          return { action: 'unchanged', message: `disk ${path} grown to ${sizeText} (the guest grows its filesystem)`, path, sizeBytes: size };
        } catch {
          // Locked by the running VM: it grows on the next run with the VM off.
          return { action: 'unchanged', message: `disk ${path} should grow to ${sizeText}; stop the VM and run again`, path, sizeBytes: info.virtualSize };
        }
      }
      return { action: 'unchanged', message: `disk ${path} up to date`, path, sizeBytes: info.virtualSize };
    }
    await rm(path, { force: true });
    action = 'recreated';
  }
  await qemuImg.createOverlay(path, baseImage, size);
  await ignoreNotFound(virsh.pool.refresh(env.uri, poolName(env.cluster)));
  return { action, message: `disk ${path} ${action} on ${baseImage}, ${sizeText}`, path, sizeBytes: size };
}

function gib(bytes: number): string {
  const g = bytes / 1024 ** 3;
  return Number.isInteger(g) ? String(g) : g.toFixed(2);
}
