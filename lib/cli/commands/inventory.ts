/**
 * `pharos inventory [generate] [--format ini|yaml] [--cluster NAME] [-o FILE]`:
 * the Ansible inventory of a cluster from the config (global `-c/--config`) and
 * the live state (SSH ports of running VMs in `user` network mode).
 *
 * `inventory` is a command group shared with other areas (`inventory pcie`
 * lives with the host checks): `inventoryCommand()` finds or creates it, so the
 * registrars may run in any order.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PharosError } from '../../errors.js';
import { loadConfig, planSystem } from '../../config/index.js';
import { noteCompat } from '../config-warnings.js';
import type { ClusterPlan, SystemPlan } from '../../model.js';
import { clusterPaths, defaultDataRoot, defaultStateRoot } from '../../cluster/paths.js';
import { readState } from '../../cluster/state.js';
import { buildInventory, renderInventory, type InventoryFormat } from '../../inventory/index.js';
import { accessFromState } from '../../cluster/access.js';
import { projectPaths, type GlobalOptions } from '../project.js';

/** The shared `inventory` command group (created on first use). */
export function inventoryCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'inventory') ??
    program.command('inventory').description('Ansible inventory of a cluster, and the host PCI inventory')
  );
}

/** `--cluster` accepts the cluster's name or its kind (`hpc`, `cloud`). */
export function pickCluster(plan: SystemPlan, want: string | undefined): ClusterPlan {
  const c = want
    ? plan.clusters.find((x) => x.name === want || x.kind === want)
    : (plan.clusters.find((x) => x.kind === 'hpc') ?? plan.clusters[0]);
  if (!c) {
    throw new PharosError(want ? `no cluster '${want}' in ${plan.configPath}` : `${plan.configPath} defines no cluster`, {
      hint: `clusters: ${plan.clusters.map((x) => `${x.name} (${x.kind})`).join(', ') || 'none'}`,
      exitCode: 2,
    });
  }
  return c;
}

export interface GenerateOptions {
  format?: string;
  cluster?: string;
  output?: string;
}

export async function generateInventory(global: GlobalOptions, o: GenerateOptions): Promise<string> {
  const format = (o.format ?? 'ini') as InventoryFormat;
  if (format !== 'ini' && format !== 'yaml') {
    throw new PharosError(`unknown inventory format '${o.format}'`, { hint: 'use --format ini or --format yaml', exitCode: 2 });
  }
  const { configPath } = projectPaths(global);
  const plan = planSystem(noteCompat(await loadConfig(configPath)));
  const cluster = pickCluster(plan, o.cluster);
  const paths = clusterPaths(cluster.name, defaultStateRoot(), defaultDataRoot(cluster.libvirtUri));
  const state = await readState(paths.stateFile);
  return renderInventory(buildInventory(cluster, accessFromState(state, paths)), format);
}

export function register(program: Command): void {
  const inv = inventoryCommand(program);
  inv
    .command('generate', { isDefault: true })
    .description('write the Ansible inventory (groups hpc_controllers, hpc_compute_nodes, hpc_gpu_nodes; k8s groups for a cloud cluster)')
    .option('--format <fmt>', 'ini | yaml', 'ini')
    .option('--cluster <name>', 'cluster name or kind (hpc, cloud); default: the HPC cluster')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .action(async (o: GenerateOptions, cmd: Command) => {
      const text = await generateInventory(cmd.optsWithGlobals<GlobalOptions>(), o);
      if (o.output) await writeFile(o.output, text);
      else process.stdout.write(text);
    });
}
