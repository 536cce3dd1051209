/**
 * A node's virtio-fs host directories, checked (and, with `create: true`,
 * made) before its domain is defined: libvirt accepts a definition whose
 * `<source dir>` is missing and fails only at start, inside virtiofsd, with a
 * message that names neither the mount nor the config field.
 */
import { chmod, mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { NodePlan } from '../model.js';
import { PharosError } from '../errors.js';
import type { UndoStack } from './undo.js';

export interface HostDirResult {
  /** Host paths this call created (config `create: true`). */
  created: string[];
}

/**
 * Every mount's `hostPath` must be a directory. A missing one is created
 * (`mkdir -p`, mode 0755) when the mount says `create: true`, with an undo
 * that removes it again if it is still empty; otherwise it is one error
 * naming the config field.
 */
export async function ensureVirtiofsDirs(node: Pick<NodePlan, 'name' | 'virtiofs'>, undo?: UndoStack): Promise<HostDirResult> {
  const created: string[] = [];
  for (const [i, m] of node.virtiofs.entries()) {
    const field = m.field ?? `virtio_fs_mounts[${i}].host_path`;
    const st = await stat(m.hostPath).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new PharosError(`${field}: virtio-fs host_path ${m.hostPath} of ${node.name} cannot be read: ${e.message}`, { hint: 'the directory must be readable by root (libvirt runs virtiofsd as root)' });
    });
    if (st?.isDirectory()) continue;
    if (st) {
      throw new PharosError(`${field}: virtio-fs host_path ${m.hostPath} of ${node.name} is not a directory`, { hint: `virtio-fs shares a directory: point ${field} at one` });
    }
    if (!m.create) {
      throw new PharosError(`${field}: virtio-fs host_path ${m.hostPath} of ${node.name} does not exist`, {
        hint: `create it (mkdir -p ${m.hostPath}), or add \`create: true\` to the mount so pharos creates it`,
      });
    }
    // mkdir -p: the first directory it had to make, or undefined when a racer made it.
    const first = await mkdir(m.hostPath, { recursive: true, mode: 0o755 });
    if (first === undefined) continue;
    // 0755 whatever the umask: virtiofsd and the guest see these bits.
    for (let d = m.hostPath; ; d = dirname(d)) {
      await chmod(d, 0o755);
      if (d === first || d === dirname(d)) break;
    }
    created.push(m.hostPath);
    undo?.push(`virtio-fs directory ${m.hostPath}`, () => removeEmptyChain(m.hostPath, first));
  }
  return { created };
}

/** rmdir from `leaf` up to and including `top`, stopping at the first that is not empty. */
async function removeEmptyChain(leaf: string, top: string): Promise<void> {
  let d = leaf;
  for (;;) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (the guest wrote into it) or already gone: keep it
    }
    if (d === top || d === dirname(d)) return;
    d = dirname(d);
  }
}
