import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { formatDoctor, runDoctor } from '../../../lib/host/doctor.js';
import { resetAccelerationProbe } from '../../../lib/host/kvm.js';
import { loadConfigText } from '../../../lib/config/load.js';
import { planSystem } from '../../../lib/config/plan.js';
import { buildFakeHost, GPU, GPU_AUDIO, IOMMU_CMDLINE, ROOT_PORT, VFIO_MODS } from '../../fixtures/sysfs/tree.js';

const EXPECT = process.env['PHAROS_EXPECT_KVM'] ?? 'unusable';
const roots: string[] = [];
test.after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

const CFG = (mode: string): string => `version: "1.0"
metadata: { name: d, description: doctor }
clusters:
  hpc:
    name: d
    network: { subnet: "10.6.0.0/24", bridge: br-d }
    hardware: { acceleration: { mode: ${mode} } }
    controller: { cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip_address: "10.6.0.10" }
    compute_nodes:
      - cpu_cores: 1
        memory_gb: 100
        disk_gb: 4
        ip: "10.6.0.11"
        pcie_passthrough:
          enabled: true
          devices:
            - { pci_address: "0000:01:00.0", device_type: gpu, vendor_id: "10de", device_id: "2805" }
            - { pci_address: "0000:01:00.1", device_type: audio, vendor_id: "10de", device_id: "22bd" }
    slurm_config: { partitions: [a], default_partition: a }
`;

function plan(mode: string) {
  return planSystem(loadConfigText(CFG(mode), 'd.yaml', { env: {}, host: { cpus: 64, memoryMiB: 1 << 20 } }), { env: {} });
}

test('doctor: good passthrough on a fake host, memory judged from its meminfo, missing tool with its package', async () => {
  const h = buildFakeHost({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [ROOT_PORT, GPU, GPU_AUDIO] });
  roots.push(h.root);
  const r = await runDoctor(plan('tcg'), {
    ...h,
    diskPaths: [h.root],
    tools: [{ cmd: 'pharos-no-such-tool', args: ['--version'], pkg: 'pharos-fake-pkg', required: true }, { cmd: 'qemu-img', args: ['--version'], pkg: 'qemu-utils', required: true }],
  });
  const byId = new Map(r.checks.map((c) => [c.id, c]));
  assert.is(byId.get('iommu')?.status, 'ok');
  assert.is(byId.get('vfio')?.status, 'ok');
  assert.is(byId.get('pcie:d-compute-01')?.status, 'ok', byId.get('pcie:d-compute-01')?.detail);
  assert.is(byId.get('tool:pharos-no-such-tool')?.status, 'fail');
  assert.is(byId.get('tool:pharos-no-such-tool')?.remediation, 'apt-get install -y pharos-fake-pkg');
  assert.match(byId.get('tool:qemu-img')?.detail ?? '', /^\d+\.\d+/);
  // fake meminfo: ~57 GiB available, the plan wants 101 GiB.
  assert.is(byId.get('memory')?.status, 'fail');
  assert.is(r.acceleration, 'tcg');
  assert.is(r.ok, false);
  assert.match(formatDoctor(r), '[FAIL] pharos-no-such-tool');
});

test('doctor: a config that insists on kvm fails the KVM check where KVM does not work', async () => {
  resetAccelerationProbe();
  const h = buildFakeHost({ cmdline: IOMMU_CMDLINE, modules: VFIO_MODS, devices: [ROOT_PORT, GPU, GPU_AUDIO] });
  roots.push(h.root);
  const r = await runDoctor(plan('kvm'), { ...h, diskPaths: [], tools: [] });
  const kvm = r.checks.find((c) => c.id === 'kvm')!;
  assert.is(r.kvm?.ran, true);
  if (EXPECT === 'usable') assert.is(kvm.status, 'ok');
  else {
    assert.is(kvm.status, 'fail');
    assert.match(kvm.detail, 'the config requires kvm');
    assert.match(r.notice ?? '', 'kvm was requested');
  }
});

test.run();
