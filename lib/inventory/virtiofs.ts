/**
 * The host var `virtiofs_mounts` the virtio-fs role mounts in the guest: one
 * item per config mount, `options` always present (`defaults` when the config
 * has none), owner/group/mode only when configured.
 */
import type { NodePlan } from '../model.js';
import type { InventoryValue } from './types.js';

export function virtiofsMounts(node: Pick<NodePlan, 'virtiofs'>): InventoryValue[] {
  return node.virtiofs.map((m) => {
    const v: { [key: string]: InventoryValue } = { tag: m.tag, mount_point: m.mountPoint };
    if (m.owner !== undefined) v.owner = m.owner;
    if (m.group !== undefined) v.group = m.group;
    if (m.mode !== undefined) v.mode = m.mode;
    v.options = m.options ?? 'defaults';
    return v;
  });
}

