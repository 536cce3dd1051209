/**
 * GPU partitions on fake sysfs trees (tests/fixtures/sysfs/tree.ts): reading
 * mdev types, the plan check (type, device_api, capacity minus our existing
 * devices, MIG parent vendor and profile from a fake `nvidia-smi mig -lgip`),
 * making and removing mdevs through the `create`/`remove` files, and the
 * doctor's check. No real GPU was lent to this project: fake trees only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPlanPartitions, createMdevs, ensureNodeMdevs, mdevExists, mdevTypes, parseMigProfiles, removeMdevs } from '../../../lib/host/mdev.js';
import { runDoctor } from '../../../lib/host/doctor.js';
import { isPharosError } from '../../../lib/errors.js';
import type { GpuPartitionPlan, NodePlan, SystemPlan } from '../../../lib/model.js';
import { buildFakeHost, GPU, IOMMU_CMDLINE, VFIO_MODS, VGPU_GPU, NIC, type FakeHost, type FakeMdevType } from '../../fixtures/sysfs/tree.js';

const LGIP = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'sysfs', 'nvidia-smi-mig-lgip.txt'), 'utf8');
const U = (n: number): string => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, '0')}`;
const T558: FakeMdevType = { id: 'nvidia-558', name: 'GRID L40S-8Q', description: 'num_heads=4, frl_config=60', deviceApi: 'vfio-pci', available: 2 };
const T_CCW: FakeMdevType = { id: 'vfio_ccw-io', deviceApi: 'vfio-ccw', available: 4 };

const roots: string[] = [];
function host(h: Partial<FakeHost> = {}): { sysRoot: string; procRoot: string; root: string } {
  const r = buildFakeHost({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [GPU, VGPU_GPU, NIC], ...h });
  roots.push(r.root);
  return r;
}
test.after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function node(name: string, partitions: GpuPartitionPlan[]): NodePlan {
  return { name, shortName: name, cluster: 'h', role: 'compute', vcpus: 1, memoryMiB: 1024, diskGb: 4, ip: '10.0.0.11', mac: '02:00:00:00:00:01', image: { kind: 'built', name: 'hpc-compute' }, autoStart: true, pcie: [], virtiofs: [], emulatedGpus: 0, partitions };
}

function planOf(...nodes: NodePlan[]): SystemPlan {
  return {
    configPath: '/x.yaml',
    name: 'x',
    baseImage: { source: 'mmdebstrap', suite: 'bookworm', mirror: 'http://deb.debian.org/debian', packages: [] },
    clusters: [
      {
        name: 'h', kind: 'hpc', libvirtUri: 'test:///default', acceleration: 'tcg',
        cpu: { model: 'max', features: [], pinning: false, nested: false },
        memoryBacking: { hugepages: false, hugepageSize: '2M', memfd: false },
        network: { mode: 'nat', subnet: '10.0.0.0/24', prefix: 24, gateway: '10.0.0.1', netmask: '255.255.255.0', libvirtName: 'h-network', bridge: 'br-h' },
        nodes,
        storage: { shared: 'nfs', mountPoint: '/shared', virtiofs: false },
        monitoring: { prometheus: true, nodeExporter: true, grafana: false, dcgm: false },
        users: [],
      },
    ],
  };
}

const mdev = (uuids: string[], mdevType = 'nvidia-558'): GpuPartitionPlan => ({ kind: 'mdev', parent: VGPU_GPU.address, mdevType, uuids });
const mig = (profile: string, count = 2): GpuPartitionPlan => ({ kind: 'mig', parent: GPU.address, profile, count });

test('mdev types are read from the tree; a device without mdev_bus is no parent', async () => {
  const r = host({ mdev: [{ parent: VGPU_GPU.address, types: [T558, { ...T_CCW, instances: [U(9)] }] }] });
  assert.equal(await mdevTypes(VGPU_GPU.address, r), [
    { id: 'nvidia-558', name: 'GRID L40S-8Q', description: 'num_heads=4, frl_config=60', deviceApi: 'vfio-pci', available: 2, instances: [] },
    { id: 'vfio_ccw-io', name: undefined, description: undefined, deviceApi: 'vfio-ccw', available: 4, instances: [U(9)] },
  ]);
  assert.is(await mdevTypes(GPU.address, r), undefined);
  assert.ok(await mdevExists(U(9), r));
  assert.not.ok(await mdevExists(U(1), r));
});

test('check: enough instances, device_api vfio-pci → no problem, the create commands as a note', async () => {
  const r = host({ mdev: [{ parent: VGPU_GPU.address, types: [T558] }] });
  const [c] = await checkPlanPartitions(planOf(node('h-c1', [mdev([U(1), U(2)])])), r);
  assert.equal(c!.problems, []);
  assert.match(c!.notes.join('\n'), `echo ${U(1)} > /sys/class/mdev_bus/0000:41:00.0/mdev_supported_types/nvidia-558/create`);
});

test('check: capacity counts every node of the type, minus our devices that exist', async () => {
  const r = host({ mdev: [{ parent: VGPU_GPU.address, types: [{ ...T558, available: 1, instances: [U(1)] }] }] });
  const ok = await checkPlanPartitions(planOf(node('h-c1', [mdev([U(1)])]), node('h-c2', [mdev([U(2)])])), r);
  assert.equal(ok.flatMap((c) => c.problems), []);
  const over = await checkPlanPartitions(planOf(node('h-c1', [mdev([U(1), U(3)])]), node('h-c2', [mdev([U(2)])])), r);
  assert.equal(over.map((c) => c.problems.length), [1, 1]);
  assert.match(over[0]!.problems[0]!.message, '2 mediated device(s) to make, 1 available');
  assert.match(over[0]!.problems[0]!.remediation, 'lower count on the nodes using nvidia-558 (h-c1, h-c2)');
});

test('check: unknown type names what is offered; wrong device_api; no mdev parent', async () => {
  const r = host({ mdev: [{ parent: VGPU_GPU.address, types: [T558, T_CCW] }] });
  const [unknown] = await checkPlanPartitions(planOf(node('h-c1', [mdev([U(1)], 'nvidia-999')])), r);
  assert.match(unknown!.problems[0]!.message, 'has no mdev type nvidia-999; it offers: nvidia-558 (GRID L40S-8Q), vfio_ccw-io');
  const [api] = await checkPlanPartitions(planOf(node('h-c1', [mdev([U(1)], 'vfio_ccw-io')])), r);
  assert.match(api!.problems[0]!.message, 'device_api vfio-ccw, not vfio-pci');
  const [none] = await checkPlanPartitions(planOf(node('h-c1', [mdev([U(1)])])), host());
  assert.match(none!.problems[0]!.message, '0000:41:00.0 offers no mediated devices');
  assert.match(none!.problems[0]!.remediation, 'vGPU host driver');
});

test('check: MIG parent must be NVIDIA; profile against the fake nvidia-smi mig -lgip', async () => {
  assert.equal(parseMigProfiles(LGIP), ['1g.18gb', '1g.18gb+me', '1g.35gb', '2g.35gb', '3g.71gb', '4g.71gb', '7g.141gb']);
  const r = host();
  const src = async () => LGIP;
  const [good] = await checkPlanPartitions(planOf(node('h-c1', [mig('1g.18gb', 3)])), { ...r, migProfiles: src });
  assert.equal(good!.problems, []);
  assert.not.ok(good!.unverified);
  assert.match(good!.notes.join('\n'), 'nvidia-smi mig -cgi 1g.18gb,1g.18gb,1g.18gb -C');
  const [bad] = await checkPlanPartitions(planOf(node('h-c1', [mig('1g.10gb')])), { ...r, migProfiles: src });
  assert.match(bad!.problems[0]!.message, 'MIG profile 1g.10gb is not offered by this host\'s GPUs; they offer: 1g.18gb');
  const [unlisted] = await checkPlanPartitions(planOf(node('h-c1', [mig('1g.10gb')])), { ...r, migProfiles: async () => undefined });
  assert.equal(unlisted!.problems, []);
  assert.ok(unlisted!.unverified);
  const [nic] = await checkPlanPartitions(planOf(node('h-c1', [{ ...mig('1g.18gb'), parent: NIC.address }])), { ...r, migProfiles: src });
  assert.match(nic!.problems[0]!.message, 'is 8086:15f3 (ethernet controller), not an NVIDIA GPU');
});

test('create writes each UUID into the type\'s create file; an existing device is skipped; remove writes 1', async () => {
  const r = host({ mdev: [{ parent: VGPU_GPU.address, types: [{ ...T558, instances: [U(1)] }] }] });
  const create = join(r.sysRoot, 'class', 'mdev_bus', VGPU_GPU.address, 'mdev_supported_types', 'nvidia-558', 'create');
  const res = await ensureNodeMdevs(node('h-c1', [mdev([U(1), U(2)]), mig('1g.18gb')]), r);
  assert.equal(res, { created: [U(2)], existing: [U(1)] });
  assert.is(readFileSync(create, 'utf8'), U(2));
  // Idempotent: once the kernel shows the device, nothing is written again.
  writeFileSync(create, '');
  const again = await createMdevs([{ parent: VGPU_GPU.address, mdevType: 'nvidia-558', uuid: U(1) }], r);
  assert.equal(again, { created: [], existing: [U(1)] });
  assert.is(readFileSync(create, 'utf8'), '');
  const remove = join(r.sysRoot, 'bus', 'mdev', 'devices', U(1), 'remove');
  assert.equal(await removeMdevs([U(1), U(2)], r), [U(1)]);
  assert.is(readFileSync(remove, 'utf8'), '1');
});

test('create: a missing type is one PharosError with a hint; a path-like type is refused before any write', async () => {
  const r = host({ mdev: [{ parent: VGPU_GPU.address, types: [T558] }] });
  for (const mdevType of ['nvidia-999', '../../../x']) {
    try {
      await createMdevs([{ parent: VGPU_GPU.address, mdevType, uuid: U(5) }], r);
      assert.unreachable('must throw');
    } catch (e) {
      assert.ok(isPharosError(e), String(e));
      assert.ok(e.hint, 'has a hint');
    }
  }
  assert.not.ok(existsSync(join(r.root, 'x')));
});

test('doctor: a GPU partitions check per node, fail with remediation, warn when a MIG profile is unverified', async () => {
  const r = host({ mdev: [{ parent: VGPU_GPU.address, types: [{ ...T558, available: 0 }] }] });
  const d = await runDoctor(planOf(node('h-c1', [mdev([U(1)])]), node('h-c2', [mig('1g.18gb')])), {
    ...r, tools: [], probe: { qemu: '/bin/false' }, diskPaths: [], migProfiles: async () => undefined,
  });
  const c1 = d.checks.find((c) => c.id === 'gpu-partitions:h-c1');
  const c2 = d.checks.find((c) => c.id === 'gpu-partitions:h-c2');
  assert.is(c1?.status, 'fail');
  assert.match(c1!.remediation ?? '', 'lower count');
  assert.is(c2?.status, 'warn');
  assert.match(c2!.detail, 'nvidia-smi mig -cgi 1g.18gb,1g.18gb -C');
  const plain = await runDoctor(planOf(node('h-c1', [])), { ...r, tools: [], probe: { qemu: '/bin/false' }, diskPaths: [] });
  assert.not.ok(plain.checks.some((c) => c.id.startsWith('gpu-partitions')));
});

test.run();
