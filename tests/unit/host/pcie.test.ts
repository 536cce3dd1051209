import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { checkNodeDevices, checkPlanPcie, pciInventory } from '../../../lib/host/pcie.js';
import { iommuState, listPciDevices, vfioModules } from '../../../lib/host/sysfs.js';
import { runDoctor } from '../../../lib/host/doctor.js';
import type { PciDevicePlan, SystemPlan } from '../../../lib/model.js';
import { buildFakeHost, GPU, GPU_AUDIO, IOMMU_CMDLINE, NIC, ROOT_PORT, VFIO_MODS, type FakeHost } from '../../fixtures/sysfs/tree.js';

const WANT: PciDevicePlan[] = [
  { address: '0000:01:00.0', deviceType: 'gpu', vendorId: '10de', deviceId: '2805' },
  { address: '0000:01:00.1', deviceType: 'audio', vendorId: '10de', deviceId: '22bd' },
];

const roots: string[] = [];
function host(h: FakeHost): { sysRoot: string; procRoot: string } {
  const r = buildFakeHost(h);
  roots.push(r.root);
  return r;
}
test.after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function planWith(devs: PciDevicePlan[]): SystemPlan {
  return {
    configPath: '/x.yaml',
    name: 'x',
    baseImage: { source: 'mmdebstrap', suite: 'bookworm', mirror: 'http://deb.debian.org/debian', packages: [] },
    clusters: [
      {
        name: 'h',
        kind: 'hpc',
        libvirtUri: 'qemu:///system',
        acceleration: 'tcg',
        cpu: { model: 'max', features: [], pinning: false, nested: false },
        memoryBacking: { hugepages: false, hugepageSize: '2M', memfd: true },
        network: { mode: 'nat', subnet: '10.0.0.0/24', prefix: 24, gateway: '10.0.0.1', netmask: '255.255.255.0', libvirtName: 'h-network', bridge: 'br-h' },
        nodes: [
          { name: 'h-compute-01', shortName: 'compute-01', cluster: 'h', role: 'compute', vcpus: 1, memoryMiB: 1024, diskGb: 4, ip: '10.0.0.11', mac: '02:00:00:00:00:01', image: { kind: 'built', name: 'hpc-compute' }, autoStart: true, pcie: devs, virtiofs: [], emulatedGpus: 0 },
        ],
        storage: { shared: 'nfs', mountPoint: '/shared', virtiofs: false },
        monitoring: { prometheus: true, nodeExporter: true, grafana: false, dcgm: true },
        users: [],
      },
    ],
  };
}

test('sysfs reading: ids, class, driver and group come from the tree', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [ROOT_PORT, GPU, GPU_AUDIO, NIC] });
  const devs = await listPciDevices(r);
  assert.equal(devs.map((d) => [d.address, `${d.vendorId}:${d.deviceId}`, d.classCode, d.driver, d.iommuGroup]), [
    ['0000:00:01.0', '8086:a70d', '060400', 'pcieport', 2],
    ['0000:01:00.0', '10de:2805', '030000', 'vfio-pci', 14],
    ['0000:01:00.1', '10de:22bd', '040300', 'vfio-pci', 14],
    ['0000:03:00.0', '8086:15f3', '020000', 'igc', 16],
  ]);
  assert.equal((await iommuState(r)).enabled, true);
  assert.equal((await vfioModules(r)).missing, []);
});

test('good passthrough: GPU and audio bound to vfio-pci, whole group assigned', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [ROOT_PORT, GPU, GPU_AUDIO, NIC] });
  const c = await checkNodeDevices('h-compute-01', WANT, r);
  assert.equal(c.problems, []);
  const rep = await checkPlanPcie(planWith(WANT), r);
  assert.ok(rep.ok);
});

test('group with a device on nvidia: named, with the rebind commands', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [{ ...GPU, driver: 'nvidia' }, { ...GPU_AUDIO, driver: 'snd_hda_intel' }] });
  const c = await checkNodeDevices('h-compute-01', WANT, r);
  const msgs = c.problems.map((p) => p.message);
  assert.ok(msgs.some((m) => m.includes('0000:01:00.0 is bound to nvidia (a host driver holds it), not vfio-pci')), msgs.join('\n'));
  assert.ok(msgs.some((m) => m.includes('0000:01:00.1 is bound to snd_hda_intel')), msgs.join('\n'));
  const fix = c.problems.find((p) => p.address === '0000:01:00.0')!.remediation;
  assert.match(fix, 'echo 0000:01:00.0 > /sys/bus/pci/devices/0000:01:00.0/driver/unbind');
  assert.match(fix, 'echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override');
  assert.match(fix, 'options vfio-pci ids=10de:2805');
});

test('no IOMMU: doctor fails the IOMMU check with the kernel command line fix', async () => {
  const r = host({ cmdline: 'BOOT_IMAGE=/vmlinuz ro quiet', modules: VFIO_MODS, devices: [{ ...GPU, group: undefined }, { ...GPU_AUDIO, group: undefined }], iommu: false });
  const rep = await checkPlanPcie(planWith(WANT), r);
  assert.not.ok(rep.ok);
  assert.is(rep.iommu.enabled, false);
  assert.match(rep.iommu.reason, 'no intel_iommu=on');
  assert.ok(rep.problems.some((p) => p.message.startsWith('IOMMU is off') && p.remediation.includes('intel_iommu=on iommu=pt')));
  assert.ok(rep.nodes[0]!.problems.some((p) => p.message.includes('has no IOMMU group')));
  const d = await runDoctor(planWith(WANT), { ...r, tools: [], probe: { qemu: '/bin/false' }, diskPaths: [] , libvirtUri: 'test:///default' });
  const iommu = d.checks.find((c) => c.id === 'iommu')!;
  assert.is(iommu.status, 'fail');
  assert.match(iommu.remediation ?? '', 'update-grub');
  assert.is(d.ok, false);
});

test('IOMMU flag on the command line but no groups: firmware is the culprit', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [GPU], iommu: false });
  const s = await iommuState(r);
  assert.is(s.enabled, false);
  assert.match(s.reason, 'enable VT-d');
});

test('missing device: said plainly, pointing at the inventory', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [NIC] });
  const c = await checkNodeDevices('h-compute-01', WANT, r);
  assert.equal(c.problems.map((p) => p.message), [
    'h-compute-01: PCI device 0000:01:00.0 does not exist on this host',
    'h-compute-01: PCI device 0000:01:00.1 does not exist on this host',
  ]);
  assert.match(c.problems[0]!.remediation, 'pharos inventory pcie');
  const inv = await pciInventory(r, planWith(WANT));
  assert.ok(inv.some((row) => row.address === '0000:01:00.0' && row.conflicts.includes('assigned in the config but not present on this host')));
});

test('audio function missing from the config: the group mate must go along', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [ROOT_PORT, GPU, { ...GPU_AUDIO, driver: 'snd_hda_intel' }] });
  const c = await checkNodeDevices('h-compute-01', [WANT[0]!], r);
  assert.is(c.problems.length, 1, c.problems.map((p) => p.message).join('\n'));
  assert.match(c.problems[0]!.message, 'IOMMU group 14 of 0000:01:00.0 also holds 0000:01:00.1 (audio device, 10de:22bd, driver snd_hda_intel)');
  assert.match(c.problems[0]!.remediation, 'pci_address: "0000:01:00.1"');
  assert.match(c.problems[0]!.remediation, 'device_type: "audio"');
  const inv = await pciInventory(r, planWith([WANT[0]!]));
  const gpuRow = inv.find((x) => x.address === '0000:01:00.0')!;
  assert.ok(gpuRow.conflicts.some((x) => x.includes('group mate 0000:01:00.1 is not assigned')), JSON.stringify(gpuRow));
  assert.ok(gpuRow.conflicts.some((x) => x.includes('group mate 0000:01:00.1 is bound to snd_hda_intel')));
});

test('wrong ids and wrong class are reported against sysfs', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [{ ...NIC, address: '0000:01:00.0', driver: 'vfio-pci', group: 14 }] });
  const c = await checkNodeDevices('n', [{ address: '0000:01:00.0', deviceType: 'gpu', vendorId: '10de', deviceId: '2805' }], r);
  const msgs = c.problems.map((p) => p.message).join('\n');
  assert.match(msgs, 'is 8086:15f3 (ethernet controller), the config says 10de:2805');
  assert.match(msgs, 'not a GPU');
});

test('vfio modules missing: named with the modprobe line', async () => {
  const r = host({ cmdline: IOMMU_CMDLINE, modules: ['kvm'], devices: [GPU, GPU_AUDIO] });
  const rep = await checkPlanPcie(planWith(WANT), r);
  const p = rep.problems.find((x) => x.message.startsWith('vfio'))!;
  assert.match(p.message, 'vfio, vfio_iommu_type1, vfio_pci');
  assert.match(p.remediation, 'modprobe -a vfio vfio_iommu_type1 vfio_pci');
});

test.run();
