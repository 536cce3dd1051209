/**
 * The Ansible inventory of one cluster, derived from its plan and the live
 * access details (where SSH reaches each node). One `Inventory` value is built
 * and then written as INI or YAML; both forms must mean the same thing to
 * Ansible (the unit tests parse both with `ansible-inventory` and compare).
 *
 * Every value the roles need (Slurm settings, GRES lines, storage choice,
 * monitoring switches) is put here, so the roles never read the YAML config.
 *
 * Values are data, never templates: Ansible evaluates `{{ … }}` in inventory
 * strings (as root, on the host), so the YAML form tags every string
 * `!unsafe`, and the INI form, which has no such tag, refuses a string that
 * could start a template (`{`). Deploys read the YAML form.
 *
 * Files: types.ts (the value), build.ts (from the plan), slurm.ts (Slurm
 * names, memory and GPUs), users.ts (users, the cluster key, accounting and
 * the user's job scripts), yaml.ts and ini.ts (the writers), write.ts (render
 * and write both).
 */
export type { Inventory, InventoryAccess, InventoryGroup, InventoryValue, InventoryVars } from './types.js';
export type { NodeAccess } from '../cluster/access.js';
export { buildInventory } from './build.js';
export { gpuDevices, gresLines, migGres, slurmClusterName, slurmGres, slurmGresType, slurmRealMemory, type GpuDevice, type MigGres } from './slurm.js';
export { toYaml } from './yaml.js';
export { toIni } from './ini.js';
export { inventoryDir, inventoryFiles, renderInventory, writeInventory, type InventoryFormat } from './write.js';
