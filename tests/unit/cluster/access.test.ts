/**
 * How a node is reached (lib/cluster/access.ts), read the same way by the VM
 * code, the inventory, ssh-config and the suites: the endpoint each network
 * mode gives, and the state's port winning over the plan's when they differ.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accessFromState, accessOf, endpointFor } from '../../../lib/cluster/access.js';
import type { ClusterState } from '../../../lib/cluster/state.js';
import { renderSshConfig } from '../../../lib/cluster/ssh-config.js';
import { buildInventory } from '../../../lib/inventory/index.js';
import { PharosError } from '../../../lib/errors.js';
import { exampleHpcPlan, localUserPlan } from '../libvirt/plans.js';

test('endpoint: user mode is 127.0.0.1 and the forwarded port, nat the node address and 22', () => {
  const node = { name: 'c-compute-01', ip: '10.0.0.11' };
  assert.equal(endpointFor('user', node, 22201), { host: '127.0.0.1', port: 22201 });
  assert.equal(endpointFor('nat', node), { host: '10.0.0.11', port: 22 });
  assert.throws(() => endpointFor('user', node), (e: unknown) => e instanceof PharosError && /no SSH port allocated for c-compute-01/.test(e.message));
});

test("the state's port is the one everything reaches, when it differs from the plan's", () => {
  const plan = localUserPlan();
  for (const [i, n] of plan.nodes.entries()) n.sshPort = 22200 + i;
  const vms: ClusterState['vms'] = {};
  // The controller's planned port was busy as it was made: it got 22250.
  for (const [i, n] of plan.nodes.entries()) {
    vms[n.name] = { name: n.name, shortName: n.shortName, ip: n.ip, mac: n.mac, sshHost: '127.0.0.1', sshPort: i === 0 ? 22250 : 22200 + i, disk: '/d', consoleLog: '/c', pci: [] };
  }
  const state: ClusterState = { version: 1, cluster: plan.name, uri: plan.libvirtUri, networkMode: 'user', network: plan.network.libvirtName, pool: 'p', poolDir: '/p', vms, updatedAt: '' };
  const paths = { privateKey: '/k', knownHosts: '/kh' };
  const access = accessFromState(state, paths);
  assert.equal(access.nodes.get('local-controller'), { host: '127.0.0.1', port: 22250 });
  assert.equal(accessOf(vms['local-compute-01']!), { host: '127.0.0.1', port: 22201 });
  const inv = buildInventory(plan, access);
  assert.is(inv.hosts['local-controller']!.ansible_port, 22250);
  assert.is(inv.hosts['local-compute-01']!.ansible_port, 22201);
  const cfg = renderSshConfig([{ state, paths }]);
  assert.match(cfg, /Host local-controller controller\n  HostName 127\.0\.0\.1\n  Port 22250\n/);
});

test("the cluster key's public line reaches the inventory (pharos_cluster_public_key), '' before the key exists", () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-access-'));
  try {
    const pub = join(dir, 'id_ed25519.pub');
    const none = accessFromState(undefined, { privateKey: join(dir, 'id_ed25519'), knownHosts: join(dir, 'kh'), publicKey: pub });
    assert.is(none.publicKey, undefined);
    const plan = exampleHpcPlan(); // nat: reached without state
    assert.is(buildInventory(plan, none).groups.find((g) => g.name === 'hpc')!.vars['pharos_cluster_public_key'], '');
    writeFileSync(pub, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey pharos-local\n');
    const a = accessFromState(undefined, { privateKey: join(dir, 'id_ed25519'), knownHosts: join(dir, 'kh'), publicKey: pub });
    assert.is(a.publicKey, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey pharos-local');
    assert.is(buildInventory(plan, a).groups.find((g) => g.name === 'hpc')!.vars['pharos_cluster_public_key'], 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey pharos-local');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
