/**
 * Which source files shape each image, for the image targets' cache keys.
 *
 * A role image depends on the shared Packer template, its role directory, its
 * image playbook, ansible.cfg, and the image-time parts of every role that
 * playbook runs (following meta/main.yml dependencies). By the roles'
 * convention, `tasks/configure.yml`, `tasks/validate.yml` and `templates/` run
 * only at deploy time (pharos_phase=configure), so editing them must not
 * rebuild an image: they are excluded with negated globs (globby syntax).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ImageRole } from './role.js';

/** Globs (relative to the repository root) whose content shapes image:base. */
export const BASE_IMAGE_INPUTS: readonly string[] = ['packer/base/**'];

/** Role files that only deploy-time runs use (see module comment). */
export const DEPLOY_ONLY_ROLE_FILES: readonly string[] = ['tasks/configure.yml', 'tasks/validate.yml', 'templates/**'];

function roleNamesOf(entries: unknown): string[] {
  if (!Array.isArray(entries)) return [];
  const names: string[] = [];
  for (const e of entries) {
    if (typeof e === 'string') names.push(e);
    else if (e && typeof e === 'object') {
      const r = (e as Record<string, unknown>).role ?? (e as Record<string, unknown>).name;
      if (typeof r === 'string') names.push(r);
    }
  }
  return names;
}

async function readYaml(path: string): Promise<unknown> {
  try {
    return parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Roles a playbook runs, including meta dependencies, in first-seen order. */
export async function playbookRoles(repoRoot: string, playbookRel: string): Promise<string[]> {
  const doc = await readYaml(join(repoRoot, playbookRel));
  const queue: string[] = [];
  if (Array.isArray(doc)) {
    for (const play of doc) {
      if (play && typeof play === 'object') queue.push(...roleNamesOf((play as Record<string, unknown>).roles));
    }
  }
  const seen: string[] = [];
  while (queue.length) {
    const r = queue.shift() as string;
    if (seen.includes(r)) continue;
    seen.push(r);
    const meta = await readYaml(join(repoRoot, 'ansible', 'roles', r, 'meta', 'main.yml'));
    if (meta && typeof meta === 'object') queue.push(...roleNamesOf((meta as Record<string, unknown>).dependencies));
  }
  return seen;
}

/** Input globs for image:<role> (relative to the repository root). */
export async function roleImageInputs(repoRoot: string, role: ImageRole): Promise<string[]> {
  const playbook = `ansible/playbooks/image-${role}.yml`;
  const globs = ['packer/common/**', `packer/${role}/**`, playbook, 'ansible/ansible.cfg'];
  for (const r of await playbookRoles(repoRoot, playbook)) {
    globs.push(`ansible/roles/${r}/**`);
    for (const d of DEPLOY_ONLY_ROLE_FILES) globs.push(`!ansible/roles/${r}/${d}`);
  }
  return globs;
}
