/**
 * The virtio-fs role from the generated inventory, by REAL Ansible on this
 * machine (connection=local, writing only into a temp dir): the host var
 * `virtiofs_mounts`, the mount unit the template writes, its file name equal
 * to what `systemd-escape -p --suffix=mount` makes of the mount point, the
 * validation refusing a path the role cannot name, and the whole configure
 * phase over no mounts sending no module to the host.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInventory, toYaml } from '../../../lib/inventory/index.js';
import { runPlaybook } from '../../../lib/tools/ansible.js';
import type { TaskTiming } from '../../../lib/tools/ansible-events.js';
import { exec } from '../../../lib/tools/exec.js';
import type { ClusterPlan, VirtiofsMountPlan } from '../../../lib/model.js';
import { localAccess, localPlan } from './plans.js';
import { REPO, requireTool } from './helpers.js';

const PLAYBOOK = join(REPO, 'tests', 'unit', 'ansible', 'virtio-fs.yml');
const scratch = mkdtempSync(join(tmpdir(), 'pharos-vfs-role-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function planWith(mounts: VirtiofsMountPlan[]): ClusterPlan {
  const p = localPlan();
  p.nodes[0]!.virtiofs = mounts;
  return p;
}

const failedTasks = (tasks: TaskTiming[]): string[] => tasks.filter((t) => Object.values(t.hosts).includes('failed')).map((t) => t.name);

let n = 0;
async function run(plan: ClusterPlan, playbook = PLAYBOOK, extra: Record<string, string> = {}) {
  const dir = join(scratch, String(n++));
  const inv = join(`${dir}-inventory.yml`);
  writeFileSync(inv, toYaml(buildInventory(plan, localAccess())));
  const r = await runPlaybook({ playbook, inventoryPath: inv, extraVars: { ansible_connection: 'local', render_out: dir, ...extra }, timeoutMs: 120_000, throwOnFailure: false });
  return { ...r, out: dir };
}

const MOUNTS: VirtiofsMountPlan[] = [
  { tag: 'data', hostPath: '/srv/data', mountPoint: '/mnt/data', owner: 'root', group: 'root', mode: '0755', options: 'rw,relatime' },
  { tag: 'ref-ro', hostPath: '/srv/ref', mountPoint: '//opt/ref-data/v1.2/', options: 'ro' },
  { tag: 'x_y', hostPath: '/srv/x', mountPoint: '/srv/a:b/c_d-e' },
];

test('inventory: virtiofs_mounts per node, [] when none; options always set', () => {
  const inv = buildInventory(planWith(MOUNTS), localAccess());
  assert.equal(inv.hosts['pharos-controller']!.virtiofs_mounts, [
    { tag: 'data', mount_point: '/mnt/data', owner: 'root', group: 'root', mode: '0755', options: 'rw,relatime' },
    { tag: 'ref-ro', mount_point: '//opt/ref-data/v1.2/', options: 'ro' },
    { tag: 'x_y', mount_point: '/srv/a:b/c_d-e', options: 'defaults' },
  ]);
  assert.equal(inv.hosts['pharos-compute-01']!.virtiofs_mounts, []);
});

test('mount units: named as systemd-escape names them, What=tag, Type=virtiofs, Options', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const r = await run(planWith(MOUNTS));
  assert.is(r.code, 0, JSON.stringify(failedTasks(r.tasks)));
  const files = readdirSync(join(r.out, 'pharos-controller')).sort();
  const want: string[] = [];
  for (const m of MOUNTS) {
    const e = await exec('systemd-escape', ['-p', '--suffix=mount', m.mountPoint], { pkg: 'systemd' });
    want.push(e.stdout.trim());
  }
  assert.equal(files, [...want].sort());
  assert.ok(want.includes('opt-ref\\x2ddata-v1.2.mount'), want.join(' '));
  const unit = readFileSync(join(r.out, 'pharos-controller', want[0]!), 'utf8');
  assert.match(unit, '\nWhat=data\nWhere=/mnt/data\nType=virtiofs\nOptions=rw,relatime\n');
  assert.match(readFileSync(join(r.out, 'pharos-controller', want[2]!), 'utf8'), '\nOptions=defaults\n');
  assert.equal(readdirSync(join(r.out, 'pharos-compute-01')), [], 'a node without mounts gets no unit');
});

test('validation: a mount point the role cannot name, and owner on a ro mount, are refused', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  for (const bad of [
    { tag: 'a', hostPath: '/srv', mountPoint: '/mnt/.hidden' },
    { tag: 'a', hostPath: '/srv', mountPoint: '/mnt/with space' },
    { tag: 'a', hostPath: '/srv', mountPoint: '/mnt/ro', options: 'ro', mode: '0700' },
  ]) {
    const r = await run(planWith([bad]));
    assert.is.not(r.code, 0, `${bad.mountPoint} must be refused`);
    const failed = failedTasks(r.tasks);
    assert.equal(failed, ['virtio-fs : Check virtio-fs inputs'], `${bad.mountPoint}: ${failed.join(', ')}`);
  }
});

test('the configure phase over no mounts sends no module to the host', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const pb = join(scratch, 'role.yml');
  writeFileSync(pb, `- name: Run virtio-fs\n  hosts: hpc\n  gather_facts: false\n  vars:\n    pharos_phase: configure\n  roles:\n    - role: ${join(REPO, 'ansible', 'roles', 'virtio-fs')}\n`);
  const bare = localPlan();
  for (const n of bare.nodes) n.virtiofs = [];
  const r = await run(bare, pb);
  assert.is(r.code, 0);
  assert.is(r.changed, 0);
  assert.is(r.failed, 0);
  // Every task that would send a module is skipped (a loop over []); only
  // asserts run, on the control node.
  const sent = r.tasks.filter((t) => t.action.replace(/^ansible\.(builtin|legacy)\./, '') !== 'assert');
  assert.ok(sent.length >= 3, sent.map((t) => t.name).join(', '));
  for (const t of sent) {
    assert.is(t.items, 0, t.name);
    assert.ok(Object.values(t.hosts).every((s) => s === 'skipped'), `${t.name}: ${JSON.stringify(t.hosts)}`);
  }
});

test.run();
