/**
 * lib/tools/ansible.ts: the argument list (the events that replace PLAY RECAP
 * parsing are in events.test.ts); tasks/roles.ts:
 * the deploy role table (hosts, order, inputs) for the local default and the
 * example config, and a real failing run (an unreachable host) becoming one clear PharosError.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { playbookArgs, DEPLOY_ROLE_PLAYBOOK } from '../../../lib/tools/ansible.js';
import { deployRoles, runDeployRole } from '../../../tasks/roles.js';
import { buildInventory, toIni } from '../../../lib/inventory/index.js';
import { PharosError } from '../../../lib/errors.js';
import { controllerOnlyPlan, examplePlan, exampleCloudPlan, localAccess, localPlan } from './plans.js';
import { requireTool } from './helpers.js';

test('playbookArgs: inventory, limit, tags, typed extra vars as JSON, playbook last', () => {
  const args = playbookArgs({ playbook: 'deploy-role.yml', inventoryPath: '/i.ini', limit: 'hpc_compute_nodes', tags: ['configure'], extraVars: { pharos_role: 'base', n: 2 } });
  assert.equal(args, ['-i', '/i.ini', '--limit', 'hpc_compute_nodes', '--tags', 'configure', '-e', '{"pharos_role":"base","n":2}', DEPLOY_ROLE_PLAYBOOK]);
});

test('deployRoles for the local default: NFS, Slurm, monitoring in dependency order', () => {
  const roles = deployRoles(localPlan());
  assert.equal(roles.map((r) => r.role), [
    'base', 'virtio-fs', 'munge', 'nfs-server', 'slurm-accounting', 'slurm-controller', 'nfs-client',
    'users', 'slurm-job-scripts', 'mpi', 'container-registry', 'container-runtime', 'slurm-compute', 'monitoring',
  ]);
  const by = new Map(roles.map((r) => [r.role, r]));
  assert.equal(by.get('slurm-compute')?.after, ['slurm-controller', 'users', 'slurm-job-scripts', 'mpi', 'container-runtime']);
  assert.equal(by.get('container-runtime')?.hosts, 'hpc');
  assert.equal(by.get('container-registry')?.hosts, 'hpc_controllers');
  assert.equal(by.get('mpi')?.after, ['base']);
  assert.equal(by.get('slurm-controller')?.after, ['slurm-accounting']);
  assert.equal(by.get('users')?.after, ['nfs-client']);
  assert.equal(by.get('nfs-client')?.after, ['nfs-server']);
  assert.is(by.get('slurm-compute')?.hosts, 'hpc_compute_nodes');
  assert.is(by.get('slurm-controller')?.hosts, 'hpc_controllers');
  assert.ok(by.get('slurm-compute')?.inputs.includes('ansible/roles/slurm-common/**'), 'shared Slurm templates shape slurm-compute');
  assert.equal(by.get('munge')?.extraVars, { pharos_role: 'munge', pharos_hosts: 'hpc' });
  // Every `after` edge points backwards: the list is a valid run order.
  roles.forEach((r, i) => r.after.forEach((a) => assert.ok(roles.findIndex((x) => x.role === a) < i, `${r.role} after ${a}`)));
});

test('deployRoles for the example: BeeGFS chain and GPU drivers, no NFS', () => {
  const roles = deployRoles(examplePlan());
  const names = roles.map((r) => r.role);
  assert.not.ok(names.includes('nfs-server') || names.includes('nfs-client'));
  for (const r of ['beegfs-mgmt', 'beegfs-meta', 'beegfs-storage', 'beegfs-client', 'nvidia-gpu-drivers']) assert.ok(names.includes(r), r);
  const compute = roles.find((r) => r.role === 'slurm-compute');
  // beegfs-client comes in through slurm-job-scripts (the prolog checks the mount).
  assert.equal(compute?.after, ['slurm-controller', 'nvidia-gpu-drivers', 'slurm-job-scripts', 'mpi', 'container-runtime']);
  assert.not.ok(names.includes('container-registry'), 'no registry unless the config asks for one');
  assert.equal(roles.find((r) => r.role === 'slurm-job-scripts')?.after, ['beegfs-client']);
  roles.forEach((r, i) => r.after.forEach((a) => assert.ok(names.indexOf(a) < i, `${r.role} after ${a}`)));
  assert.equal(deployRoles(exampleCloudPlan()).map((r) => `${r.role} on ${r.hosts} after ${r.after.join(',') || '-'}`), ['cloud-node on k8s_cluster after -', 'kubernetes on k8s_cluster after cloud-node']);
});

test('deployRoles for a controller-only cluster: no compute-side role', () => {
  const names = deployRoles(controllerOnlyPlan()).map((r) => r.role);
  assert.equal(names, ['base', 'virtio-fs', 'munge', 'nfs-server', 'slurm-accounting', 'slurm-controller', 'users', 'container-registry', 'monitoring']);
});

test('runPlaybook: an unreachable host is one PharosError naming it', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-unreach-'));
  try {
    const access = localAccess();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    for (const k of access.nodes.keys()) access.nodes.set(k, { host: '127.0.0.1', port: 1 });
    access.knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(access.knownHostsFile, '');
    const inv = join(dir, 'inventory.ini');
    writeFileSync(inv, toIni(buildInventory(localPlan(), access)));
    const base = deployRoles(localPlan()).find((r) => r.role === 'base');
    assert.ok(base);
    const lines: string[] = [];
    try {
      await runDeployRole(base, { inventoryPath: inv, limit: 'pharos-controller', onLine: (l) => lines.push(l), timeoutMs: 120_000 });
      assert.unreachable('the run should fail');
    } catch (e) {
      assert.instance(e, PharosError);
      assert.match((e as PharosError).message, 'pharos-controller (unreachable)');
      assert.match((e as PharosError).hint ?? '', 'ansible-playbook');
    }
    assert.ok(lines.some((l) => l.startsWith('PLAY RECAP')), 'output is streamed line by line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
