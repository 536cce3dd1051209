/**
 * vGPU partitions over a cluster's life, on a fake sysfs tree (no GPU was lent
 * to this project): a VM's start makes its mediated devices before libvirt
 * starts the domain, and the start's undo removes the ones it made when the
 * start fails; `destroy` removes the ones its state records (only those that
 * exist; a dry run only names them). The cluster's libvirt is the test driver
 * (`test:///`, in-process in virsh).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterEnv, destroyCluster, UndoStack } from '../../../lib/cluster/ops.js';
import { makeNodeMdevs } from '../../../lib/cluster/gpus.js';
import { buildFakeHost, VGPU_GPU, IOMMU_CMDLINE, VFIO_MODS, type FakeMdevType } from '../../fixtures/sysfs/tree.js';
import { requireTool } from '../ansible/helpers.js';
import { tempRoot } from '../engine/helpers.js';

const U = (n: number): string => `bbbbbbbb-0000-4000-8000-${String(n).padStart(12, '0')}`;
const T558: FakeMdevType = { id: 'nvidia-558', name: 'GRID L40S-8Q', description: 'num_heads=4', deviceApi: 'vfio-pci', available: 2 };
const fake = buildFakeHost({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [VGPU_GPU], mdev: [{ parent: VGPU_GPU.address, types: [{ ...T558, instances: [U(1)] }] }] });
const root = tempRoot('pharos-mdev-life-');
test.after(() => rmSync(fake.root, { recursive: true, force: true }));

const createFile = join(fake.sysRoot, 'class', 'mdev_bus', VGPU_GPU.address, 'mdev_supported_types', 'nvidia-558', 'create');
const removeFile = (u: string): string => join(fake.sysRoot, 'bus', 'mdev', 'devices', u, 'remove');

test("the start's undo removes the mediated devices the start made, and only those", async () => {
  const node = { partitions: [{ kind: 'mdev' as const, parent: VGPU_GPU.address, mdevType: 'nvidia-558', uuids: [U(1), U(2)] }] };
  const undo = new UndoStack();
  // What convergeVm calls before the domain starts (lib/cluster/vm.ts).
  assert.equal(await makeNodeMdevs({ name: 'c-compute-01', ...node }, undo, fake), [U(2)]);
  assert.is(readFileSync(createFile, 'utf8'), U(2));
  // The kernel makes the device the write asked for; the fake tree does it by hand.
  mkdirSync(join(fake.sysRoot, 'bus', 'mdev', 'devices', U(2)), { recursive: true });
  await undo.run(() => undefined);
  assert.is(readFileSync(removeFile(U(2)), 'utf8'), '1', 'the one the start made is removed');
  assert.is.not(readFileSync(removeFile(U(1)), 'utf8'), '1', 'the one that was there before is left');
});

test('destroy removes the mediated devices its state records; a dry run names the ones that exist', async () => {
  await requireTool('virsh', 'libvirt-clients');
  const nodeXml = join(root, 'node.xml');
  writeFileSync(nodeXml, '<node></node>\n');
  const stateRoot = join(root, 'state');
  const dataRoot = join(root, 'data');
  const plan = { name: 'mdevc', libvirtUri: `test://${nodeXml}`, acceleration: 'tcg' as const };
  const env = clusterEnv(plan, { stateRoot, dataRoot, hostRoots: fake, owner: root });
  mkdirSync(env.paths.stateDir, { recursive: true });
  const vm = {
    name: 'mdevc-compute-01', shortName: 'compute-01', ip: '10.9.0.11', mac: '52:54:00:09:00:11', sshHost: '127.0.0.1', sshPort: 22311,
    disk: join(dataRoot, 'x.qcow2'), consoleLog: join(dataRoot, 'x.log'), pci: [], mdevs: [U(1), U(3)],
  };
  writeFileSync(env.paths.stateFile, JSON.stringify({ version: 1, cluster: 'mdevc', uri: plan.libvirtUri, networkMode: 'user', network: 'mdevc-net', pool: 'mdevc-pool', poolDir: join(dataRoot, 'pool'), vms: { [vm.name]: vm }, updatedAt: new Date().toISOString() }));
  const dry = await destroyCluster('mdevc', env, { dryRun: true });
  assert.ok(dry.files.includes(`mdev ${U(1)}`), dry.files.join(', '));
  assert.not.ok(dry.files.includes(`mdev ${U(3)}`), 'a recorded device the kernel no longer has is not named');
  assert.is.not(readFileSync(removeFile(U(1)), 'utf8'), '1', 'a dry run writes nothing');
  const rep = await destroyCluster('mdevc', env);
  assert.ok(rep.files.includes(`mdev ${U(1)}`));
  assert.is(readFileSync(removeFile(U(1)), 'utf8'), '1');
  assert.not.ok(existsSync(env.paths.stateFile));
});

test.run();
