/**
 * Host GPUs between the clusters:
 *   pharos gpu status [--json]            every passed-through PCI function: its config node(s), where it is, who runs with it
 *   pharos gpu move ADDRESS --to NODE     hand a GPU (every function of its PCI device) to another VM
 * A move refuses while the giving node runs a workload (Slurm jobs, pods),
 * drains or cordons it, stops its VM, records the new place
 * (`<state>/gpu-assignments.json`, read by every plan Pharos makes) and lets
 * the engine re-define and start both VMs (`vm:<giver>`, `vm:<taker>`).
 * `-n` says what it would do and changes nothing.
 */
import type { Command } from 'commander';
import { PharosError } from '../../errors.js';
import type { ClusterPlan, NodePlan } from '../../model.js';
import { defaultStateRoot } from '../../cluster/paths.js';
import { readGpuOwners } from '../../cluster/state.js';
import * as virsh from '../../tools/virsh.js';
import { applyGpuAssignments, moveAssignment, readGpuAssignments, writeGpuAssignments, type GpuPlacement } from '../../cluster/gpu-assign.js';
import { giveUp } from '../../cluster/gpu-move.js';
import type { GlobalOptions } from '../project.js';
import { examples } from '../help.js';
import { configPlanFor, envOf, out } from '../cluster-shared.js';

interface MoveOpts {
  to?: string;
  timeout?: string;
  build?: boolean;
}

const ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

/** Every node of the plan, with its cluster. */
function nodesOf(clusters: readonly ClusterPlan[]): { c: ClusterPlan; n: NodePlan }[] {
  return clusters.flatMap((c) => c.nodes.map((n) => ({ c, n })));
}

/** A node by VM name or short name, in any cluster of the plan. */
export function findNode(clusters: readonly ClusterPlan[], want: string): { c: ClusterPlan; n: NodePlan } {
  const all = nodesOf(clusters);
  const exact = all.find((x) => x.n.name === want);
  if (exact) return exact;
  const short = all.filter((x) => x.n.shortName === want);
  if (short.length === 1) return short[0]!;
  throw new PharosError(short.length ? `node name '${want}' is in more than one cluster: ${short.map((x) => x.n.name).join(', ')}` : `no node '${want}' in the config`, {
    hint: `nodes: ${all.map((x) => x.n.name).join(', ')}`,
    exitCode: 2,
  });
}

async function statusRows(g: GlobalOptions): Promise<{ placements: (GpuPlacement & { runningOn?: string })[]; stale: string[] }> {
  const stateRoot = defaultStateRoot();
  const plan = await configPlanFor(g);
  const { placements, stale } = applyGpuAssignments(plan, await readGpuAssignments(stateRoot));
  const owners = await readGpuOwners(stateRoot);
  const rows: (GpuPlacement & { runningOn?: string })[] = [];
  for (const p of placements) {
    const o = owners[p.address];
    const st = o ? await virsh.domain.state(o.uri, o.vm).catch(() => undefined) : undefined;
    rows.push({ ...p, ...(o && (st === 'running' || st === 'paused') ? { runningOn: o.vm } : {}) });
  }
  return { placements: rows, stale };
}

export function register(program: Command): void {
  const gpu = program
    .command('gpu')
    .description('host GPUs (passed-through PCI devices) between the clusters: where each is, and moving one')
    .addHelpText(
      'after',
      examples([
        ['pharos gpu status', 'each device: the node(s) the config gives it, where it is now, which running VM has it'],
        ['pharos gpu move 0000:01:00.0 --to cloud-gpu-worker-01', 'drain the node that has it, stop it, give the GPU (and its audio function) to the other VM and start both'],
        ['pharos -n gpu move 0000:01:00.0 --to compute-01', 'what a move would do'],
      ]),
    );

  gpu
    .command('status')
    .description('every passed-through PCI device of the config: its config node(s), the node it is on now, the VM running with it')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { placements, stale } = await statusRows(g);
      out(g, { devices: placements, stale }, () => {
        if (!placements.length) return 'no passed-through PCI devices in the config';
        const lines = placements.map((p) => {
          const where = p.node ? `${p.node}${p.moved ? ' (moved)' : ''}` : `shared: ${p.homes.join(', ')}`;
          return `${p.address}  ${p.device.deviceType.padEnd(7)} ${p.device.vendorId}:${p.device.deviceId}  ${where.padEnd(40)} ${p.runningOn ? `in use by ${p.runningOn}` : 'not in use'}`;
        });
        return [...lines, ...stale.map((s) => `ignored record: ${s}`)].join('\n');
      });
    });

  gpu
    .command('move')
    .description('hand a GPU to another VM: refuse while its node runs a job, drain or cordon and stop that node, record the new place, re-define and start both VMs')
    .argument('<address>', 'PCI address of the GPU, DDDD:BB:SS.F (every function of the device moves with it)')
    .requiredOption('--to <node>', 'the VM that gets it (full or short name)')
    .option('--timeout <s>', 'seconds before the giving VM is forced off', '90')
    .option('--no-build', 'record the move and stop the giving VM only; `pharos build cluster` re-defines the VMs later')
    .action(async (address: string, o: MoveOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const addr = address.toLowerCase();
      if (!ADDRESS.test(addr)) throw new PharosError(`'${address}' is not a PCI address`, { hint: 'expected DDDD:BB:SS.F, e.g. 0000:01:00.0 (pharos gpu status lists them)', exitCode: 2 });
      const stateRoot = defaultStateRoot();
      const plan = await configPlanFor(g);
      const current = await readGpuAssignments(stateRoot);
      const { placements } = applyGpuAssignments(plan, current);
      const target = findNode(plan.clusters, o.to ?? '');
      const { next, moved } = moveAssignment(current, placements, addr, { node: target.n.name, cluster: target.c.name });
      const here = placements.filter((p) => moved.includes(p.address));
      if (here.every((p) => p.node === target.n.name)) {
        out(g, { moved: [], to: target.n.name, already: true }, () => `${moved.join(', ')}: already on ${target.n.name}`);
        return;
      }
      // The node that gives it up: where it is now, else (a shared, never-moved GPU) the VM running with it.
      const owners = await readGpuOwners(stateRoot);
      const fromName = here.find((p) => p.node && p.node !== target.n.name)?.node ?? owners[addr]?.vm;
      // A VM the config no longer has (an old owner record) gives nothing up.
      const from = fromName && fromName !== target.n.name ? nodesOf(plan.clusters).find((x) => x.n.name === fromName) : undefined;
      const targets = [...new Set([...(from ? [`vm:${from.n.name}`] : []), `vm:${target.n.name}`])];
      const steps = [
        ...(from ? [`${from.n.name}: refuse if it runs a job; ${from.c.kind === 'hpc' ? 'drain it in Slurm' : 'cordon it in Kubernetes'}; stop its VM`] : []),
        `record ${moved.join(', ')} on ${target.n.name} (${target.c.name})`,
        o.build === false ? 'leave the VMs to the next `pharos build cluster`' : `build ${targets.join(' ')}: re-define both VMs with their devices and start them`,
      ];
      if (g.dryRun) {
        out(g, { dryRun: true, moved, from: from?.n.name, to: target.n.name, steps }, () => [`would move ${moved.join(', ')} to ${target.n.name}:`, ...steps.map((s) => `  ${s}`)].join('\n'));
        return;
      }
      const done: string[] = [];
      if (from) {
        const h = await giveUp(from.c, from.n, envOf(g, from.c.name, from.c.libvirtUri), `pharos gpu move ${addr}`, { timeoutMs: Number(o.timeout ?? 90) * 1000 });
        done.push(...h.steps);
      }
      await writeGpuAssignments(stateRoot, next);
      done.push(`recorded ${moved.join(', ')} on ${target.n.name}`);
      if (o.build !== false) {
        const { loadProject } = await import('../project.js');
        const { buildTargets } = await import('./engine.js');
        const r = await buildTargets(g, await loadProject(g), targets);
        if (r.exitCode !== 0) {
          process.exitCode = r.exitCode;
          throw new PharosError(`the move of ${moved.join(', ')} to ${target.n.name} is recorded, but building ${targets.join(' ')} failed (above)`, {
            hint: `fix what failed and run pharos build ${targets.join(' ')}, or move it back: pharos gpu move ${addr} --to ${from?.n.name ?? 'NODE'}`,
            exitCode: r.exitCode,
          });
        }
        done.push(`built ${targets.join(' ')}`);
      }
      if (target.c.kind === 'hpc' || from?.c.kind === 'hpc') done.push("Slurm's GRES follows on the next `pharos build cluster` (the slurm roles re-render gres.conf and resume the node)");
      out(g, { moved, from: from?.n.name, to: target.n.name, steps: done }, () => done.join('\n'));
    });
}
