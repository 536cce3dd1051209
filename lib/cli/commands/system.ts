/**
 * The whole system: every cluster of the config at once, the HPC cluster
 * first (as ai-how's `system` commands did), then the cloud cluster.
 *   pharos system start   [--images-dir DIR] [--no-wait]
 *   pharos system stop    [--timeout S]
 *   pharos system status  exit 0 all running (or none created), 3 all stopped, 4 otherwise
 *   pharos system destroy [-y]   one confirmation for everything it removes
 * `--json` prints `{ "clusters": [ … ] }`, one document per cluster, in that
 * order; `-n` says what each would do and changes nothing.
 */
import type { Command } from 'commander';
import type { ClusterPlan } from '../../model.js';
import { readState } from '../../cluster/state.js';
import { clusterEnv, clusterStatus, destroyCluster, planStart, startCluster, stopCluster, type DestroyReport } from '../../cluster/ops.js';
import type { GlobalOptions } from '../project.js';
import { formatDuration } from '../../util/duration.js';
import { examples } from '../help.js';
import { resolveImages, startPlanText } from './cluster.js';
import {
  STATUS_EXIT,
  confirmDestroy,
  destroyedLines,
  envOf,
  out,
  ownerOf,
  startThroughEngine,
  statusSummary,
  statusTable,
  systemPlanFor,
  type StatusWord,
} from '../cluster-shared.js';

interface SystemOpts {
  imagesDir?: string;
  wait?: boolean;
  timeout?: string;
  yes?: boolean;
}

/** The config's clusters, HPC first; config order within a kind. */
export async function systemClusters(g: GlobalOptions): Promise<ClusterPlan[]> {
  const plan = await systemPlanFor(g);
  return [...plan.clusters].sort((a, b) => Number(a.kind !== 'hpc') - Number(b.kind !== 'hpc'));
}

/** One word for the whole system: every cluster running (or none created) 0, all stopped 3, else 4. */
export function systemState(states: StatusWord[]): StatusWord {
  const made = states.filter((s) => s !== 'not-created');
  if (made.length === 0) return 'not-created';
  if (made.length === states.length && made.every((s) => s === 'running')) return 'running';
  if (made.every((s) => s === 'stopped')) return 'stopped';
  return 'partial';
}

const SYSTEM_STATUS_HELP = `
Exit status: 0 every cluster running, or none created; 3 every created cluster
stopped; 4 anything in between (a cluster partial, one running and one not
created, ...); 1 an error (e.g. libvirt unreachable); 2 a usage error.`;

async function status(g: GlobalOptions, c: ClusterPlan): Promise<{ doc: Record<string, unknown>; state: StatusWord; text: string }> {
  const env = envOf(g, c.name, c.libvirtUri);
  if (!(await readState(env.paths.stateFile))) {
    return { doc: { cluster: c.name, kind: c.kind, state: 'not-created', vms: [] }, state: 'not-created', text: `cluster ${c.name} (${c.kind}): not created` };
  }
  const st = await clusterStatus(c.name, env);
  const s = statusSummary(st);
  return { doc: { ...st, kind: c.kind, state: s.state }, state: s.state, text: `${statusTable(st)}\n${s.text}` };
}

export function register(program: Command): void {
  const system = program
    .command('system')
    .description('every cluster of the config together (HPC first, then cloud): start, stop, status, destroy')
    .addHelpText(
      'after',
      examples([
        ['pharos -c config/local-dual.yaml system start', 'create and start both clusters (building their images first if needed)'],
        ['pharos system status --json', 'each cluster\'s VMs; exit 0 all running, 3 all stopped, 4 in between'],
        ['pharos system stop', 'shut every VM down, HPC cluster first'],
        ['pharos system destroy -y', 'remove what pharos made for every cluster, without asking'],
      ]),
    );

  system
    .command('start')
    .description('create what is missing and start every cluster; built images go through the engine (the `vms` target)')
    .option('--images-dir <dir>', 'where built images are (<name>.qcow2); default $PHAROS_IMAGES_DIR')
    .option('--no-wait', 'do not wait for SSH')
    .action(async (o: SystemOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const clusters = await systemClusters(g);
      const imagesDir = o.imagesDir ?? process.env.PHAROS_IMAGES_DIR;
      if (!imagesDir && clusters.some((c) => c.nodes.some((n) => n.image.kind === 'built'))) {
        if (!(await startThroughEngine(g, ['vms'], o.wait === false))) return;
        const all: Awaited<ReturnType<typeof status>>[] = [];
        for (const c of clusters) all.push(await status(g, c));
        out(g, { clusters: all.map((x) => x.doc) }, () => all.map((x) => x.text).join('\n'));
        return;
      }
      let accel: 'kvm' | 'tcg' | undefined;
      if (clusters.some((c) => c.acceleration === 'auto')) {
        const { probeAcceleration } = await import('../../host/kvm.js');
        const d = await probeAcceleration('auto');
        accel = d.acceleration;
        if (d.notice && !g.json) process.stderr.write(`${d.notice}\n`);
      }
      const docs: unknown[] = [];
      const lines: string[] = [];
      for (const c of clusters) {
        const env = clusterEnv(c, { acceleration: accel, owner: ownerOf(g), log: g.json ? undefined : (l) => process.stderr.write(`${l}\n`) });
        if (g.dryRun) {
          const p = await planStart(c, resolveImages(c, imagesDir), env);
          docs.push({ ...p, dryRun: true });
          lines.push(startPlanText(p));
          continue;
        }
        const rep = await startCluster(c, resolveImages(c, imagesDir), env, { waitSsh: o.wait !== false, pinHostKeys: o.wait !== false });
        docs.push(rep);
        lines.push(`cluster ${rep.cluster}: ${rep.vms.length} VM(s) in ${formatDuration(rep.ms)}`, ...rep.vms.map((v) => `  ${v.name.padEnd(28)} ${v.domain.padEnd(10)} ssh ${v.sshHost}:${v.sshPort}`));
      }
      out(g, { clusters: docs }, () => lines.join('\n'));
    });

  system
    .command('stop')
    .description('graceful shutdown of every VM of every cluster (HPC first), forced after --timeout seconds; clusters never created are skipped')
    .option('--timeout <s>', 'seconds before a forced power-off, per VM', '90')
    .action(async (o: SystemOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const docs: unknown[] = [];
      const lines: string[] = [];
      for (const c of await systemClusters(g)) {
        const env = envOf(g, c.name, c.libvirtUri);
        if (!(await readState(env.paths.stateFile))) {
          docs.push({ cluster: c.name, kind: c.kind, state: 'not-created', vms: [] });
          lines.push(`cluster ${c.name}: not created, nothing to stop`);
          continue;
        }
        const rep = await stopCluster(c.name, env, { timeoutMs: Number(o.timeout ?? 90) * 1000, dryRun: g.dryRun });
        docs.push({ cluster: c.name, kind: c.kind, ...rep });
        lines.push(`cluster ${c.name}:`, ...rep.vms.map((v) => `  ${v.name}: ${v.action}${g.dryRun ? '' : ` (${formatDuration(v.ms)})`}`));
      }
      out(g, { clusters: docs }, () => lines.join('\n'));
    });

  system
    .command('status')
    .description("every cluster's VMs, their state, addresses and SSH endpoints")
    .addHelpText('after', SYSTEM_STATUS_HELP)
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const all: Awaited<ReturnType<typeof status>>[] = [];
      for (const c of await systemClusters(g)) all.push(await status(g, c));
      const state = systemState(all.map((x) => x.state));
      out(g, { state, clusters: all.map((x) => x.doc) }, () => [...all.map((x) => x.text), `system: ${state}`].join('\n'));
      process.exitCode = STATUS_EXIT[state];
    });

  system
    .command('destroy')
    .description("remove every cluster's VMs, disks, pools, networks and state: only what pharos made for them; asks once on a terminal")
    .option('-y, --yes', 'destroy without asking (needed when stdin is not a terminal)')
    .action(async (o: SystemOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const clusters = await systemClusters(g);
      const plans: { c: ClusterPlan; plan: DestroyReport }[] = [];
      for (const c of clusters) plans.push({ c, plan: await destroyCluster(c.name, envOf(g, c.name, c.libvirtUri), { dryRun: true }) });
      const gone = plans.flatMap((p) => destroyedLines(p.plan));
      const leftAlone = plans.flatMap((p) => p.plan.leftAlone);
      const text = (reps: { c: ClusterPlan; plan: DestroyReport }[], verb: string): string =>
        reps
          .map(({ c, plan }) => {
            const l = destroyedLines(plan);
            const aside = plan.leftAlone.length ? `\n  left alone:\n    ${plan.leftAlone.join('\n    ')}` : '';
            return `cluster ${c.name}: ${l.length ? `${verb}:\n    ${l.join('\n    ')}` : 'nothing to remove'}${aside}`;
          })
          .join('\n');
      if (g.dryRun || gone.length === 0) {
        out(g, { dryRun: !!g.dryRun, clusters: plans.map((p) => ({ kind: p.c.kind, ...p.plan })) }, () => text(plans, 'would remove'));
        return;
      }
      const names = clusters.map((c) => c.name).join(', ');
      if (!o.yes) await confirmDestroy(`clusters ${names}`, gone, leftAlone, 'pharos -n system destroy');
      const done: { c: ClusterPlan; plan: DestroyReport }[] = [];
      for (const { c } of plans) done.push({ c, plan: await destroyCluster(c.name, envOf(g, c.name, c.libvirtUri)) });
      out(g, { clusters: done.map((p) => ({ kind: p.c.kind, ...p.plan })) }, () => text(done, 'removed'));
    });
}
