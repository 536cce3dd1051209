/**
 * Cluster lifecycle commands:
 *   pharos cluster start|stop|status|destroy [--cluster NAME] [--json] [-n]
 *   pharos cluster destroy [NAME] [--yes]  (asks on a terminal; refuses without one unless --yes)
 *   pharos vm start|stop|restart|status NAME [--json]
 *
 * `cluster start` converges from the config (global `-c`); images come from the
 * node's `base_image_path` (with `X.vmlinuz`/`X.initrd` beside `X.qcow2` meaning
 * direct kernel boot) or, for images Pharos builds, from `--images-dir`
 * (`<dir>/<name>.qcow2`, plus `<name>.vmlinuz`/`<name>.initrd`). Without an
 * image directory, built images send `cluster start` through the engine: it
 * builds the `vms` alias (images first, only what changed) and prints the
 * cluster's status. `pharos build cluster` also deploys the roles. Everything else works from the
 * cluster state alone, so `stop`, `status`, `destroy` and `vm …` need no config
 * (`ssh` and `ssh-config` are in ssh.ts).
 */
import { examples } from '../help.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { PharosError } from '../../errors.js';
import type { ClusterPlan } from '../../model.js';
import { defaultStateRoot } from '../../cluster/paths.js';
import { listStates, readState } from '../../cluster/state.js';
import {
  clusterEnv,
  clusterStatus,
  destroyCluster,
  findVm,
  planStart,
  startCluster,
  startVm,
  wouldStartVm,
  stopCluster,
  stopVm,
  type NodeImage,
  type StartPlan,
} from '../../cluster/ops.js';
import { probeDomains } from '../../libvirt/probe.js';
import { KERNEL_CMDLINE } from '../../images/base.js';
import type { GlobalOptions } from '../project.js';
import { formatDuration } from '../../util/duration.js';
import {
  STATUS_EXIT,
  STATUS_HELP,
  clusterName,
  confirmDestroy,
  destroyedLines,
  envOf,
  out,
  ownerOf,
  planFor,
  startThroughEngine,
  startedStatus,
  statusSummary,
  statusTable,
} from '../cluster-shared.js';

interface ClusterOpts {
  cluster?: string;
  imagesDir?: string;
  wait?: boolean;
  timeout?: string;
}

export function resolveImages(plan: ClusterPlan, imagesDir: string | undefined): Record<string, NodeImage> {
  const images: Record<string, NodeImage> = {};
  for (const n of plan.nodes) {
    if (n.image.kind === 'path') {
      // A kernel and initrd beside the image (X.vmlinuz, X.initrd for X.qcow2)
      // mean direct kernel boot, as for images without a boot loader.
      const stem = n.image.path.replace(/\.(qcow2|img|raw)$/, '');
      const img: NodeImage = { image: n.image.path };
      if (existsSync(`${stem}.vmlinuz`)) {
        img.kernel = `${stem}.vmlinuz`;
        if (existsSync(`${stem}.initrd`)) img.initrd = `${stem}.initrd`;
        img.cmdline = KERNEL_CMDLINE;
      }
      images[n.name] = img;
      continue;
    }
    const dir = imagesDir ?? process.env.PHAROS_IMAGES_DIR;
    if (!dir) {
      throw new PharosError(`node ${n.name} boots the built image ${n.image.name}, and no image directory was given`, {
        hint: 'run `pharos build cluster` (builds images and starts VMs), or pass --images-dir DIR holding <name>.qcow2',
      });
    }
    const img: NodeImage = { image: join(dir, `${n.image.name}.qcow2`) };
    const k = join(dir, `${n.image.name}.vmlinuz`);
    const i = join(dir, `${n.image.name}.initrd`);
    if (existsSync(k)) {
      img.kernel = k;
      if (existsSync(i)) img.initrd = i;
      img.cmdline = KERNEL_CMDLINE;
    }
    images[n.name] = img;
  }
  return images;
}

/** `pharos -n cluster start`: what would be created, converged or started. */
export function startPlanText(p: StartPlan): string {
  const obj = (kind: string, o: StartPlan['network']): string => `  ${kind} ${o.name}: ${o.action === 'none' ? 'up to date' : `would ${o.action}`}`;
  const vm = (v: StartPlan['vms'][number]): string => {
    const what = v.action === 'create' ? 'would create' : v.action === 'converge' ? `would converge (${v.reason ?? 'out of date'})` : 'up to date';
    const start = v.autoStart ? (v.action === 'none' ? '' : ' and start') : ', not started: auto_start false';
    return `  ${v.name.padEnd(28)} ${what}${start}`;
  };
  return [`cluster ${p.cluster}: dry run, nothing changed`, obj('network', p.network), obj('pool', p.pool), ...p.vms.map(vm)].join('\n');
}

export function register(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('start, stop, inspect and destroy a cluster of VMs')
    .addHelpText(
      'after',
      examples([
        ['pharos cluster start', 'create and start the HPC cluster (building its images first if needed)'],
        ['pharos cluster status --json', 'each VM\'s state; exit 0 running or not created, 3 stopped, 4 partial'],
        ['pharos cluster stop', 'shut the VMs down (forced off after --timeout seconds)'],
        ['pharos cluster destroy -y', 'remove what pharos made for the cluster, without asking'],
      ]),
    );

  cluster
    .command('start')
    .description('create what is missing (network, pool, disks, VMs), start auto_start VMs, wait for SSH')
    .option('--cluster <name>', 'cluster name or kind (default: the HPC cluster)')
    .option('--images-dir <dir>', 'where built images are (<name>.qcow2); default $PHAROS_IMAGES_DIR')
    .option('--no-wait', 'do not wait for SSH')
    .action(async (o: ClusterOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const plan = await planFor(g, o.cluster);
      const imagesDir = o.imagesDir ?? process.env.PHAROS_IMAGES_DIR;
      if (!imagesDir && plan.nodes.some((n) => n.image.kind === 'built')) {
        // Pharos-built images and no directory holding them: build what the VMs
        // need (images included) through the engine, as `pharos build vms` does.
        const targets = o.cluster ? plan.nodes.map((n) => `vm:${n.name}`) : ['vms'];
        if (await startThroughEngine(g, targets, o.wait === false)) {
          const st = await startedStatus(g, plan);
          out(g, st, () => statusTable(st));
        }
        return;
      }
      let accel: 'kvm' | 'tcg' | undefined;
      if (plan.acceleration === 'auto') {
        const { probeAcceleration } = await import('../../host/kvm.js');
        const d = await probeAcceleration('auto');
        accel = d.acceleration;
        if (d.notice && !g.json) process.stderr.write(`${d.notice}\n`);
      }
      const env = clusterEnv(plan, { acceleration: accel, owner: ownerOf(g), log: g.json ? undefined : (l) => process.stderr.write(`${l}\n`) });
      if (g.dryRun) {
        const p = await planStart(plan, resolveImages(plan, imagesDir), env);
        out(g, { ...p, dryRun: true }, () => startPlanText(p));
        return;
      }
      const rep = await startCluster(plan, resolveImages(plan, imagesDir), env, { waitSsh: o.wait !== false, pinHostKeys: o.wait !== false });
      out(g, rep, () =>
        [
          `cluster ${rep.cluster}: ${rep.vms.length} VM(s) in ${formatDuration(rep.ms)}`,
          ...rep.vms.map((v) => `  ${v.name.padEnd(28)} ${v.domain.padEnd(10)} ssh ${v.sshHost}:${v.sshPort}${v.restarted ? '  (restarted)' : ''}${v.restartNeeded ? '  (restart needed)' : ''}`),
        ].join('\n'),
      );
    });

  cluster
    .command('stop')
    .description('graceful shutdown of every VM, forced after --timeout seconds')
    .option('--cluster <name>', 'cluster name')
    .option('--timeout <s>', 'seconds before a forced power-off', '90')
    .action(async (o: ClusterOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const c = await clusterName(g, o.cluster);
      const rep = await stopCluster(c.name, envOf(g, c.name, c.uri), { timeoutMs: Number(o.timeout ?? 90) * 1000, dryRun: g.dryRun });
      out(g, rep, () => rep.vms.map((v) => `${v.name}: ${v.action}${g.dryRun ? '' : ` (${formatDuration(v.ms)})`}`).join('\n'));
    });

  cluster
    .command('status')
    .description('VMs, their state, addresses and SSH endpoints ("not created" for a cluster with no state)')
    .option('--cluster <name>', 'cluster name')
    .addHelpText('after', STATUS_HELP)
    .action(async (o: ClusterOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // A name given and unknown to the config is still a fine question: not created.
      const c = await clusterName(g, o.cluster).catch((e: unknown) => {
        if (o.cluster) return { name: o.cluster, uri: '' };
        throw e;
      });
      const env = envOf(g, c.name, c.uri);
      if (!(await readState(env.paths.stateFile))) {
        const others = (await listStates(defaultStateRoot())).map((s) => s.cluster);
        out(g, { cluster: c.name, state: 'not-created', vms: [] }, () =>
          `cluster ${c.name}: not created${others.length ? ` (clusters with state: ${others.join(', ')})` : ''}`,
        );
        return;
      }
      const st = await clusterStatus(c.name, env);
      const summary = statusSummary(st);
      out(g, { ...st, state: summary.state }, () => `${statusTable(st)}\n${summary.text}`);
      process.exitCode = STATUS_EXIT[summary.state];
    });

  cluster
    .command('destroy')
    .description(
      "remove the cluster's VMs, disks, pool, networks and state: only what pharos made for it (domains with its metadata, networks and pools its state records); asks first on a terminal; idempotent",
    )
    .argument('[name]', 'cluster name (default: --cluster, the only cluster with state, or the config)')
    .option('--cluster <name>', 'cluster name')
    .option('-y, --yes', 'destroy without asking (needed when stdin is not a terminal)')
    .action(async (name: string | undefined, o: ClusterOpts & { yes?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const c = await clusterName(g, name ?? o.cluster).catch((e: unknown) => {
        if (name ?? o.cluster) return { name: (name ?? o.cluster)!, uri: 'qemu:///system' };
        throw e;
      });
      const env = envOf(g, c.name, c.uri);
      const plan = await destroyCluster(c.name, env, { dryRun: true });
      const gone = destroyedLines;
      const aside = (r: { leftAlone: string[] }): string => (r.leftAlone.length ? `\nleft alone:\n  ${r.leftAlone.join('\n  ')}` : '');
      if (g.dryRun || gone(plan).length === 0) {
        out(g, { ...plan, dryRun: !!g.dryRun }, () =>
          (gone(plan).length ? `would remove:\n  ${gone(plan).join('\n  ')}` : `nothing to remove for ${c.name}`) + aside(plan),
        );
        return;
      }
      if (!o.yes) await confirmDestroy(`cluster ${c.name}`, gone(plan), plan.leftAlone, `pharos -n cluster destroy ${c.name}`);
      const rep = await destroyCluster(c.name, env);
      out(g, rep, () => `removed:\n  ${gone(rep).join('\n  ')}${aside(rep)}`);
    });

  const vm = program.command('vm').description('one VM: start, stop, restart, status');
  vm.command('start')
    .description('start a VM that exists (state from `cluster start`), then wait for SSH')
    .argument('<name>', 'VM name (full or short, e.g. compute-01)')
    .option('--no-wait', 'do not wait for SSH')
    .action(async (name: string, o: ClusterOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (g.dryRun) {
        const w = await wouldStartVm(defaultStateRoot(), name, { owner: ownerOf(g) });
        out(g, { ...w, dryRun: true }, () => `${w.vm}: ${w.action === 'would-start' ? `would start (it is ${w.state})` : w.action === 'missing' ? 'its domain is missing (pharos cluster start creates it)' : 'already running'}`);
        return;
      }
      const r = await startVm(defaultStateRoot(), name, { waitSsh: o.wait !== false, owner: ownerOf(g) });
      out(g, r, () => `${r.vm}: ${r.started ? 'started' : 'already running'}${r.sshReadyMs !== undefined ? `, SSH ready after ${formatDuration(r.sshReadyMs)}` : ''}`);
    });
  vm.command('stop')
    .description('graceful shutdown of one VM, forced after --timeout seconds')
    .argument('<name>', 'VM name')
    .option('--timeout <s>', 'seconds before a forced power-off', '90')
    .action(async (name: string, o: ClusterOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const r = await stopVm(defaultStateRoot(), name, { timeoutMs: Number(o.timeout ?? 90) * 1000, dryRun: g.dryRun, owner: ownerOf(g) });
      out(g, r, () => `${r.vm}: ${r.action}${g.dryRun ? '' : ` (${formatDuration(r.ms)})`}`);
    });
  vm.command('restart')
    .description('stop (graceful, then forced after --timeout seconds) and start again; a VM whose definition changed boots the new one')
    .argument('<name>', 'VM name')
    .option('--timeout <s>', 'seconds before a forced power-off', '90')
    .option('--no-wait', 'do not wait for SSH')
    .action(async (name: string, o: ClusterOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (g.dryRun) {
        const w = await stopVm(defaultStateRoot(), name, { dryRun: true, owner: ownerOf(g) });
        out(g, w, () => `${w.vm}: would restart (${w.action === 'would-stop' ? 'it runs' : w.action})`);
        return;
      }
      const s = await stopVm(defaultStateRoot(), name, { timeoutMs: Number(o.timeout ?? 90) * 1000, owner: ownerOf(g) });
      const r = await startVm(defaultStateRoot(), name, { waitSsh: o.wait !== false, owner: ownerOf(g) });
      out(g, { stop: s, start: r }, () => `${r.vm}: ${s.action}, then started${r.sshReadyMs !== undefined ? `; SSH ready after ${formatDuration(r.sshReadyMs)}` : ''}`);
    });
  vm.command('status')
    .description("one VM's state, addresses, disk, console log, and whether it needs a restart")
    .argument('<name>', 'VM name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { state, vm: v } = await findVm(defaultStateRoot(), name);
      const p = (await probeDomains(state.uri, [v.name])).domains.get(v.name);
      const r = { ...v, cluster: state.cluster, state: p?.exists ? p.state : 'missing', specHash: p?.specHash, restartNeeded: !!(p?.liveSpecHash && p.liveSpecHash !== p.specHash) };
      out(g, r, () => `${v.name} (${state.cluster}): ${r.state}${r.restartNeeded ? ' (restart needed)' : ''}\n  ip ${v.ip}  ssh ${v.sshHost}:${v.sshPort}  disk ${v.disk}\n  console log ${v.consoleLog}`);
    });
}
