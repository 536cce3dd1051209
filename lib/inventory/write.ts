/** An inventory rendered in one format, or written in both beside each other. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PharosError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Inventory } from './types.js';
import { toIni } from './ini.js';
import { toYaml } from './yaml.js';

export type InventoryFormat = 'ini' | 'yaml';

export function renderInventory(inv: Inventory, format: InventoryFormat): string {
  return format === 'ini' ? toIni(inv) : toYaml(inv);
}

/** Where a project keeps a cluster's inventory (`.pharos/clusters/<cluster>/`). */
export function inventoryDir(stateDir: string, cluster: string): string {
  return join(stateDir, 'clusters', cluster);
}

/** The two inventory files in `dir`. */
export function inventoryFiles(dir: string): { ini: string; yaml: string } {
  return { ini: join(dir, 'inventory.ini'), yaml: join(dir, 'inventory.yml') };
}

/** Writes `inventory.ini` and `inventory.yml` into `dir` (temp file + rename,
 *  so a reader never sees half a file) and returns their paths. Deploys use
 *  the YAML one (its values are `!unsafe`); the INI one is for people. */
export async function writeInventory(inv: Inventory, dir: string): Promise<{ ini: string; yaml: string }> {
  await mkdir(dir, { recursive: true });
  const out = inventoryFiles(dir);
  let ini: string;
  try {
    ini = toIni(inv);
  } catch (e) {
    if (!(e instanceof PharosError)) throw e;
    // The deploy reads inventory.yml; an INI that cannot hold a value says why instead.
    ini = `# Pharos wrote no INI inventory for cluster ${inv.cluster}: ${e.message.replace(/\s+/g, ' ')}\n# Use inventory.yml beside this file.\n`;
  }
  for (const [file, text] of [
    [out.ini, ini],
    [out.yaml, toYaml(inv)],
  ] as const) {
    await writeFileAtomic(file, text, 0o644);
  }
  return out;
}
