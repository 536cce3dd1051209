/**
 * `pharos gpu move`'s work on the node that gives a GPU up: whether it runs a
 * workload (Slurm jobs on an HPC node, pods on a Kubernetes node: the move is
 * refused then, with their names), taking it out of scheduling (Slurm drain,
 * Kubernetes cordon) and stopping its VM. Commands run over the cluster's own
 * SSH key with pinned host keys, on the cluster's controller or control plane.
 * The re-definition of both VMs with their new devices is the engine's (the
 * VM targets read the plan with the move applied: gpu-assign.ts).
 */
import { PharosError } from '../errors.js';
import type { ClusterPlan, NodePlan } from '../model.js';
import { run } from '../tools/ssh.js';
import { withRootSession } from '../ssh/session.js';
import { shellQuote } from '../util/shell.js';
import * as virsh from '../tools/virsh.js';
import type { ClusterEnv } from './env.js';
import { readState } from './state.js';
import { stopDomain, type StopResult } from './domain.js';

type MoveEnv = Pick<ClusterEnv, 'uri' | 'paths'>;

/** The node that schedules work for `cluster`: its controller, or its Kubernetes control plane. */
export function schedulerOf(cluster: ClusterPlan): NodePlan {
  const n = cluster.nodes.find((x) => x.role === (cluster.kind === 'hpc' ? 'controller' : 'control-plane'));
  if (!n) throw new PharosError(`cluster ${cluster.name} has no ${cluster.kind === 'hpc' ? 'controller' : 'control plane'}`);
  return n;
}

/** Runs `argv` as root on `vm` of the cluster; stdout, or one error naming the node and the command. */
async function onNode(cluster: ClusterPlan, env: MoveEnv, vm: string, argv: string[], what: string, okCodes: number[] = [0]): Promise<{ code: number; stdout: string }> {
  const state = await readState(env.paths.stateFile);
  const rec = state?.vms[vm];
  if (!rec) throw new PharosError(`cluster ${cluster.name} has no VM ${vm} in its state`, { hint: 'pharos system status' });
  return withRootSession(rec, env.paths, async (conn) => {
    const r = await run(conn, shellQuote(argv), { timeoutMs: 60_000, what });
    if (!okCodes.includes(r.code)) throw new PharosError(`${what} on ${vm} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`, { hint: `pharos ssh ${rec.shortName}` });
    return { code: r.code, stdout: r.stdout };
  }, { bannerTimeoutMs: 30_000 });
}

/** Job ids in `squeue -h -o %A` output. */
export function parseJobIds(out: string): string[] {
  return out.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l));
}

/** Pods in `namespace/name kind` lines, DaemonSet pods left out (they run on every node and move with none). */
export function parseMovablePods(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] && f[1] !== 'DaemonSet')
    .map((f) => f[0]!);
}

const KUBECONFIG = '/etc/kubernetes/admin.conf';

/**
 * What runs on `node` that a move would kill: Slurm's jobs there (running,
 * completing, suspended), or its pods. A cloud cluster without Kubernetes
 * (not installed: its package repository is unreachable here) runs no pods.
 */
export async function workloadsOn(cluster: ClusterPlan, node: NodePlan, env: MoveEnv): Promise<string[]> {
  const sched = schedulerOf(cluster);
  if (cluster.kind === 'hpc') {
    const r = await onNode(cluster, env, sched.name, ['squeue', '-h', '-w', node.name, '-t', 'RUNNING,COMPLETING,CONFIGURING,SUSPENDED', '-o', '%A'], 'squeue');
    return parseJobIds(r.stdout).map((id) => `Slurm job ${id}`);
  }
  const script = `command -v kubectl >/dev/null && [ -f ${KUBECONFIG} ] || exit 3\nkubectl --kubeconfig ${KUBECONFIG} get pods -A --field-selector "spec.nodeName=$1,status.phase=Running" -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.ownerReferences[0].kind}{"\\n"}{end}'`;
  const r = await onNode(cluster, env, sched.name, ['sh', '-c', script, 'pharos-gpu-move', node.name], 'kubectl get pods', [0, 3]);
  return r.code === 3 ? [] : parseMovablePods(r.stdout).map((p) => `pod ${p}`);
}

/** Takes `node` out of scheduling: Slurm drain with `reason`, or Kubernetes cordon. Returns what it did. */
export async function quiesce(cluster: ClusterPlan, node: NodePlan, env: MoveEnv, reason: string): Promise<string> {
  const sched = schedulerOf(cluster);
  if (cluster.kind === 'hpc') {
    await onNode(cluster, env, sched.name, ['scontrol', 'update', `NodeName=${node.name}`, 'State=DRAIN', `Reason=${reason}`], 'scontrol update State=DRAIN');
    return `drained ${node.name} in Slurm (${reason})`;
  }
  const r = await onNode(cluster, env, sched.name, ['sh', '-c', `command -v kubectl >/dev/null && [ -f ${KUBECONFIG} ] || exit 3\nkubectl --kubeconfig ${KUBECONFIG} cordon "$1"`, 'pharos-gpu-move', node.name], 'kubectl cordon', [0, 3]);
  return r.code === 3 ? `${node.name}: no Kubernetes to cordon it in` : `cordoned ${node.name} in Kubernetes`;
}

export interface HandOver {
  /** What was done, in order, one line each. */
  steps: string[];
  stop?: StopResult;
}

/**
 * The giving node's half of a move: when its VM runs, refuse while it runs a
 * workload (naming them), else take it out of scheduling and stop the VM.
 * A VM that does not run gives its device up as it is.
 */
export async function giveUp(cluster: ClusterPlan, node: NodePlan, env: MoveEnv, reason: string, o: { timeoutMs?: number } = {}): Promise<HandOver> {
  const st = await virsh.domain.state(env.uri, node.name);
  if (st !== 'running' && st !== 'paused') return { steps: [`${node.name}: ${st ?? 'not defined'}, nothing to stop`] };
  const busy = await workloadsOn(cluster, node, env);
  if (busy.length) {
    throw new PharosError(`not moving the GPU: ${node.name} runs ${busy.join(', ')}`, {
      hint: cluster.kind === 'hpc' ? `wait for them, or cancel them (scancel), then move again; pharos ssh controller squeue -w ${node.name}` : `drain the node first: kubectl drain ${node.name} --ignore-daemonsets`,
    });
  }
  const steps = [await quiesce(cluster, node, env, reason)];
  const stop = await stopDomain(env.uri, node.name, { timeoutMs: o.timeoutMs ?? 90_000 });
  steps.push(`${node.name}: ${stop.action}`);
  return { steps, stop };
}
