/**
 * virtio-fs mounts from a real config file to the plan, the inventory host var
 * and the suite environment: a relative host_path is relative to the config
 * file's directory (like base_image_path), `create: true` reaches the plan,
 * each mount knows its config field, and the schema refuses a non-boolean
 * `create`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, REPO_ROOT } from '../../../lib/config/load.js';
import { planSystem } from '../../../lib/config/plan.js';
import { buildInventory } from '../../../lib/inventory/index.js';
import { nodeEnv } from '../../../lib/suites/env.js';
import { HOST, rejectDetails } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'pht-vfs-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// The local default without its own mount, so each test sets the mounts it needs.
const LOCAL = readFileSync(join(REPO_ROOT, 'config', 'local.yaml'), 'utf8').replace(
  /      # A host directory in the guest over virtio-fs[\s\S]*?create: true\n/,
  '',
);
const MOUNTS = `      virtio_fs_mounts:
        - tag: scratch
          host_path: "../data/scratch"
          mount_point: /mnt/scratch
          create: true
        - tag: ref
          host_path: /srv/ref
          mount_point: /opt/ref
          owner: "1000"
          mode: "0750"
          options: "rw,relatime"
        - tag: docs
          host_path: /srv/docs
          mount_point: /opt/docs
          options: "ro"
`;

function withMounts(mounts: string): string {
  const at = LOCAL.indexOf('      base_image_path: "build/packer/hpc-controller/hpc-controller.qcow2"\n');
  assert.ok(at > 0, 'config/local.yaml has the controller base_image_path line');
  return LOCAL.slice(0, at) + mounts + LOCAL.slice(at);
}

async function planOf(text: string) {
  const sub = join(dir, 'conf');
  const file = join(sub, `c${Math.random().toString(16).slice(2)}.yaml`);
  mkdirSync(sub, { recursive: true });
  writeFileSync(file, text);
  return planSystem(await loadConfig(file, { env: { HOME: '/home/tester' }, host: HOST }), { env: {} }).clusters[0]!;
}

test('plan: relative host_path against the config directory, create, field; absolute kept', async () => {
  const c = await planOf(withMounts(MOUNTS));
  const ctrl = c.nodes[0]!;
  assert.equal(ctrl.virtiofs, [
    { tag: 'scratch', hostPath: join(dir, 'data', 'scratch'), mountPoint: '/mnt/scratch', create: true, field: 'clusters.hpc.controller.virtio_fs_mounts[0].host_path' },
    { tag: 'ref', hostPath: '/srv/ref', mountPoint: '/opt/ref', owner: '1000', mode: '0750', options: 'rw,relatime', field: 'clusters.hpc.controller.virtio_fs_mounts[1].host_path' },
    { tag: 'docs', hostPath: '/srv/docs', mountPoint: '/opt/docs', options: 'ro', field: 'clusters.hpc.controller.virtio_fs_mounts[2].host_path' },
  ]);
  assert.ok(c.nodes.slice(1).every((n) => n.virtiofs.length === 0));
  assert.equal(c.memoryBacking.memfd, true, 'virtio-fs needs shared memory');
  assert.equal(c.storage.virtiofs, true);
});

test('inventory and suite env carry the mounts; [] / empty when none', async () => {
  const c = await planOf(withMounts(MOUNTS));
  const inv = buildInventory(c, { nodes: new Map(c.nodes.map((n, i) => [n.name, { host: '127.0.0.1', port: 2200 + i }])), user: 'root', keyFile: '/k', knownHostsFile: '/kh' });
  assert.equal(inv.hosts['pharos-controller']!.virtiofs_mounts, [
    { tag: 'scratch', mount_point: '/mnt/scratch', options: 'defaults' },
    { tag: 'ref', mount_point: '/opt/ref', owner: '1000', mode: '0750', options: 'rw,relatime' },
    { tag: 'docs', mount_point: '/opt/docs', options: 'ro' },
  ]);
  assert.equal(inv.hosts['pharos-compute-01']!.virtiofs_mounts, []);
  assert.is(nodeEnv(c.nodes[0]!).PHAROS_NODE_VIRTIOFS, 'scratch:rw:-:-:-:/mnt/scratch ref:rw:1000:-:0750:/opt/ref docs:ro:-:-:-:/opt/docs');
  assert.is(nodeEnv(c.nodes[1]!).PHAROS_NODE_VIRTIOFS, '');
});

test('schema: create must be a boolean, host_path must not be empty', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, withMounts(MOUNTS.replace('create: true', 'create: "yes"').replace('host_path: /srv/ref', 'host_path: ""')));
  const d = await rejectDetails(bad, { host: HOST });
  const fields = d.map((x) => x.field);
  assert.ok(fields.includes('clusters.hpc.controller.virtio_fs_mounts[0].create'), JSON.stringify(d));
  assert.ok(fields.includes('clusters.hpc.controller.virtio_fs_mounts[1].host_path'), JSON.stringify(d));
});

test('rules: owner/group/mode on a ro mount, a mount point twice, a dot component: one located error each', async () => {
  const bad = join(dir, 'rules.yaml');
  writeFileSync(
    bad,
    withMounts(`      virtio_fs_mounts:
        - tag: a
          host_path: /srv/a
          mount_point: /mnt/a
          options: "relatime,ro"
          owner: "1000"
          mode: "0700"
        - tag: b
          host_path: /srv/b
          mount_point: /mnt/a/
        - tag: c
          host_path: /srv/c
          mount_point: /mnt/.hidden
`),
  );
  const d = await rejectDetails(bad, { host: HOST });
  const f = (i: number, k: string) => `clusters.hpc.controller.virtio_fs_mounts[${i}].${k}`;
  assert.equal(d.map((x) => x.field).sort(), [f(0, 'mode'), f(0, 'owner'), f(1, 'mount_point'), f(2, 'mount_point')].sort(), JSON.stringify(d));
  assert.ok(d.every((x) => typeof x.line === 'number' && x.line > 0), 'every problem has its line');
  assert.match(d.find((x) => x.field === f(0, 'owner'))!.message, 'read-only');
});

test.run();
