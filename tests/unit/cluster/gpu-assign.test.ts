/**
 * GPU moves on the real two-cluster example (config/example-multi-gpu-clusters.yaml:
 * 0000:01:00.x shared by hpc compute-01 and the cloud GPU worker, 0000:07:00.x
 * on hpc compute-02): a recorded move puts every function of the device on its
 * new node only, and what reads the plan follows — the domain XML's hostdevs,
 * Slurm's GRES, shared memory for the guest; moving back drops the record;
 * records that no longer fit the config are named, not applied; the record
 * file is read strictly. Then `pharos gpu status|move` through the real bin
 * (-n, --no-build: no VM runs here), and the parsers of what the giving node
 * runs (`squeue`, `kubectl get pods`: no cluster is up in unit tests).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, planSystem } from '../../../lib/config/index.js';
import { applyGpuAssignments, moveAssignment, readGpuAssignments, type GpuAssignments } from '../../../lib/cluster/gpu-assign.js';
import { parseJobIds, parseMovablePods } from '../../../lib/cluster/gpu-move.js';
import { buildDomainSpec } from '../../../lib/cluster/domain.js';
import { clusterEnv } from '../../../lib/cluster/ops.js';
import { domainXml } from '../../../lib/libvirt/domain.js';
import { gpuDevices } from '../../../lib/inventory/slurm.js';
import { isPharosError } from '../../../lib/errors.js';
import type { SystemPlan } from '../../../lib/model.js';
import { REPO, cli, tempRoot } from '../engine/helpers.js';

const CONFIG = join(REPO, 'config', 'example-multi-gpu-clusters.yaml');
const HPC2 = 'hpc-cluster-compute-02';
const HPC1 = 'hpc-cluster-compute-01';
const WORKER = 'cloud-cluster-gpu-worker-01';

async function plan(): Promise<SystemPlan> {
  return planSystem(await loadConfig(CONFIG, { env: { HOME: '/home/tester' } }), { env: {} });
}
const node = (p: SystemPlan, name: string) => p.clusters.flatMap((c) => c.nodes).find((n) => n.name === name)!;
const addrs = (p: SystemPlan, name: string): string[] => node(p, name).pcie.map((d) => d.address).sort();
const rec = (n: string, c: string): GpuAssignments[string] => ({ node: n, cluster: c, since: '2026-12-02T00:00:00.000Z' });

test('a move puts the device on its new node only; the domain XML and Slurm GRES follow; the config plan is untouched', async () => {
  const p = await plan();
  assert.equal(addrs(p, HPC2), ['0000:07:00.0', '0000:07:00.1']);
  const a = { '0000:07:00.0': rec(WORKER, 'cloud-cluster'), '0000:07:00.1': rec(WORKER, 'cloud-cluster') };
  const r = applyGpuAssignments(p, a);
  assert.equal(r.stale, []);
  assert.equal(addrs(r.plan, HPC2), []);
  assert.equal(addrs(r.plan, WORKER), ['0000:01:00.0', '0000:01:00.1', '0000:07:00.0', '0000:07:00.1']);
  assert.equal(addrs(p, HPC2), ['0000:07:00.0', '0000:07:00.1'], 'the given plan is not changed');
  assert.equal(gpuDevices(node(r.plan, HPC2)).filter((d) => d.type !== 'emulated'), [], 'compute-02 has no GPU for Slurm any more');
  const cloud = r.plan.clusters.find((c) => c.kind === 'cloud')!;
  assert.ok(cloud.memoryBacking.memfd);
  const env = clusterEnv(cloud, { stateRoot: '/nonexistent/state', dataRoot: '/nonexistent/data' });
  const xml = domainXml(buildDomainSpec(cloud, env, { node: node(r.plan, WORKER), image: { image: '/i.qcow2' }, disk: '/d.qcow2', sshPort: 22300, authorizedKey: 'ssh-ed25519 AAAA k' }));
  assert.match(xml, "<address domain='0x0000' bus='0x07' slot='0x00' function='0x0'/>");
  assert.match(xml, "<address domain='0x0000' bus='0x07' slot='0x00' function='0x1'/>");
  const p7 = r.placements.find((x) => x.address === '0000:07:00.0')!;
  assert.equal([p7.homes, p7.node, p7.moved], [[HPC2], WORKER, true]);
});

test('a shared GPU given to one node leaves the other; unplaced it stays shared', async () => {
  const p = await plan();
  const shared = applyGpuAssignments(p, {}).placements.find((x) => x.address === '0000:01:00.0')!;
  assert.equal([shared.homes, shared.node], [[HPC1, WORKER], undefined]);
  const r = applyGpuAssignments(p, { '0000:01:00.0': rec(WORKER, 'cloud-cluster'), '0000:01:00.1': rec(WORKER, 'cloud-cluster') });
  assert.equal(addrs(r.plan, HPC1), []);
  assert.equal(addrs(r.plan, WORKER), ['0000:01:00.0', '0000:01:00.1']);
});

test('moveAssignment moves every function of the device; back to its only home drops the record', async () => {
  const p = await plan();
  const { placements } = applyGpuAssignments(p, {});
  const there = moveAssignment({}, placements, '0000:07:00.0', { node: WORKER, cluster: 'cloud-cluster' });
  assert.equal(there.moved, ['0000:07:00.0', '0000:07:00.1']);
  assert.equal(Object.keys(there.next).sort(), ['0000:07:00.0', '0000:07:00.1']);
  const moved = applyGpuAssignments(p, there.next).placements;
  const back = moveAssignment(there.next, moved, '0000:07:00.1', { node: HPC2, cluster: 'hpc-cluster' });
  assert.equal(back.next, {});
  // A shared device keeps a record even on one of its homes: it says which one has it.
  const s = moveAssignment({}, placements, '0000:01:00.0', { node: HPC1, cluster: 'hpc-cluster' });
  assert.equal(Object.values(s.next).map((x) => x.node), [HPC1, HPC1]);
  try {
    moveAssignment({}, placements, '0000:99:00.0', { node: HPC1, cluster: 'hpc-cluster' });
    assert.unreachable('an unknown device must be refused');
  } catch (e) {
    assert.ok(isPharosError(e) && e.exitCode === 2, String(e));
  }
});

test('records that no longer fit the config are named and not applied', async () => {
  const p = await plan();
  const r = applyGpuAssignments(p, { '0000:42:00.0': rec(WORKER, 'cloud-cluster'), '0000:07:00.0': rec('gone-node', 'x') });
  assert.equal(r.stale.length, 2);
  assert.match(r.stale.join('\n'), /0000:42:00.0: no node of the config has this device[\s\S]*0000:07:00.0: moved to gone-node/);
  assert.equal(addrs(r.plan, HPC2), ['0000:07:00.0', '0000:07:00.1']);
});

test('the record file: missing is empty, garbage is one error with a hint, bad entries are skipped', async () => {
  const d = tempRoot('pharos-gpu-rec-');
  assert.equal(await readGpuAssignments(d), {});
  writeFileSync(join(d, 'gpu-assignments.json'), '{oops');
  const e = await readGpuAssignments(d).then(() => undefined, (x: unknown) => x);
  assert.ok(isPharosError(e) && /not JSON/.test(e.message) && e.hint, String(e));
  writeFileSync(join(d, 'gpu-assignments.json'), JSON.stringify({ '0000:07:00.0': rec(WORKER, 'c'), '../etc': rec(WORKER, 'c'), '0000:07:00.1': { node: 3 } }));
  assert.equal(Object.keys(await readGpuAssignments(d)), ['0000:07:00.0']);
});

test('what the giving node runs: squeue job ids, pods that are not DaemonSet pods', () => {
  assert.equal(parseJobIds('  12\n345\n\nsqueue: warning\n'), ['12', '345']);
  assert.equal(parseMovablePods('default/train-0 Job\nkube-system/nvidia-device-plugin-x DaemonSet\nml/notebook \n'), ['default/train-0', 'ml/notebook']);
});

test('pharos gpu status and move through the real bin: -n changes nothing, --no-build records it, moving back clears it', async () => {
  const root = tempRoot('pharos-gpu-cli-');
  const state = join(root, 'state');
  mkdirSync(state);
  const run = async (args: string[]) => {
    const c = cli(root, ['-c', CONFIG, ...args], { PHAROS_STATE_DIR: state, PHAROS_DATA_DIR: join(root, 'data') });
    const r = await c.exit;
    return { code: r.code, out: c.stdout(), err: c.stderr() };
  };
  let r = await run(['-n', 'gpu', 'move', '0000:07:00.0', '--to', 'gpu-worker-01']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /would move 0000:07:00.0, 0000:07:00.1 to cloud-cluster-gpu-worker-01:\n\s+hpc-cluster-compute-02: refuse if it runs a job; drain it in Slurm; stop its VM/);
  r = await run(['gpu', 'move', '0000:07:00.0', '--to', 'gpu-worker-01', '--no-build']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /hpc-cluster-compute-02: not defined, nothing to stop\nrecorded 0000:07:00.0, 0000:07:00.1 on cloud-cluster-gpu-worker-01/);
  r = await run(['gpu', 'status']);
  assert.match(r.out, /0000:07:00.0\s+gpu\s+10de:2504\s+cloud-cluster-gpu-worker-01 \(moved\)/);
  r = await run(['gpu', 'move', '0000:07:00.1', '--to', 'hpc-cluster-compute-02', '--no-build']);
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(readFileSync(join(state, 'gpu-assignments.json'), 'utf8')), {});
  r = await run(['gpu', 'move', '0000:07:00.0', '--to', 'compute-02']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /already on hpc-cluster-compute-02/);
  for (const [args, re] of [
    [['gpu', 'move', '0000:7:00.0', '--to', 'compute-02'], /is not a PCI address/],
    [['gpu', 'move', '0000:07:00.0', '--to', 'nosuch'], /no node 'nosuch' in the config/],
  ] as const) {
    r = await run([...args]);
    assert.is(r.code, 2, r.out);
    assert.match(r.err, re);
  }
});

test.run();
